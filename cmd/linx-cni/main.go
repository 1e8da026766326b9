// Command linx-cni is a CNI plugin whose pod networks are scopes the local
// Linx agent keeps converged (see package internal/cniplugin). A container
// runtime runs it from its CNI plugin directory (/opt/cni/bin) with a
// network configuration of "type": "linx-cni".
package main

import (
	"github.com/containernetworking/cni/pkg/skel"

	"github.com/linx-net/linx/internal/cniplugin"
)

// version is set at build time (-X main.version=…).
var version = "devel"

func main() {
	p := &cniplugin.Plugin{}
	skel.PluginMainFuncs(p.Funcs(), cniplugin.Versions, cniplugin.About+" "+version)
}
