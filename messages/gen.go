package messages

// Regenerate linx.pb.go from linx.proto (needs protoc on PATH). The second
// import path is protoactor's actor.proto (for actor.PID), taken from the
// module version pinned in go.mod.
//
//go:generate go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
//go:generate sh -c "PATH=\"$(go env GOPATH)/bin:$PATH\" protoc -I . -I \"$(go list -m -f {{.Dir}} github.com/asynkron/protoactor-go)/actor\" --go_out=. --go_opt=paths=source_relative linx.proto"
