# The Linx node agent's container image, for people with Docker:
#
#   docker build --build-arg VERSION=$(scripts/version.sh) -t linx-net/linx-node .
#
# `make image` builds the same image without a container daemon.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=v0.0.0-devel
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
		-o /rootfs/usr/local/bin/linx-node ./cmd/linx-node \
	&& CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
		-o /rootfs/usr/local/bin/linx-cni ./cmd/linx-cni \
	&& install -D -m 0644 config/examples/linx.yaml /rootfs/etc/linx/linx.yaml \
	&& install -d -m 0700 /rootfs/var/lib/linx \
	&& install -d -m 0750 /rootfs/run/linx \
	&& install -d -m 0755 /rootfs/run/netns \
	&& install -d -m 1777 /rootfs/tmp

FROM scratch
COPY --from=build /rootfs /
ARG VERSION=v0.0.0-devel
LABEL org.opencontainers.image.title="linx-node" \
	org.opencontainers.image.version="${VERSION}" \
	org.opencontainers.image.licenses="Apache-2.0" \
	org.opencontainers.image.source="https://github.com/linx-net/linx"
ENV PATH=/usr/local/bin
ENTRYPOINT ["/usr/local/bin/linx-node"]
CMD ["run", "--config", "/etc/linx/linx.yaml"]
