// Package cniplugin is the logic of linx-cni, a CNI plugin (spec 1.1.0:
// ADD, DEL, CHECK, GC, STATUS, VERSION) whose pods' networks are scopes a
// local Linx agent keeps converged. The command cmd/linx-cni only hands
// the CNI library's dispatcher the methods of a Plugin.
//
// # What an attachment becomes
//
// For network NET, container C and interface IF, with H the first ten hex
// digits of sha256(C + "/" + IF), ADD asks the agent, over its local
// socket, for three scopes:
//
//  1. cni-NET, in the host namespace: the bridge (kind bridge, up, the
//     network's MTU) holding the gateway address of each subnet IPAM
//     gives. It is spawned by the first ADD and shared by every pod of
//     the network; later ADDs leave it alone.
//  2. cni-NET-H, in the host namespace: the veth lxH, enslaved to the
//     bridge and up, whose peer is created in the pod's namespace under
//     the name IF.
//  3. cni-NET-H-c, in the pod's namespace: IF (configured, never
//     created), up, with the addresses and routes IPAM returned, plus a
//     default route through the gateway when isDefaultGateway is set.
//
// The agent keeps all three converged for as long as they exist: an
// address or route deleted by hand inside the pod comes back on the
// scope's next pass. IPAM is delegated to the configured IPAM plugin
// (host-local, dhcp, …) through the CNI library's invoke package.
//
// DEL stops and forgets the pod's scopes after the host scope's last pass
// deleted the veth (its peer goes with it), then delegates DEL to IPAM.
// CHECK reports the two pod scopes' convergence and IPAM's CHECK. GC
// removes the scopes of attachments absent from
// cni.dev/valid-attachments. STATUS succeeds when the agent answers.
//
// # Errors
//
// Every failure is a CNI error result (types.Error): code 7 for an
// invalid network configuration, 3 when the pod's namespace is missing,
// 11 ("try again later") when the agent cannot be reached, 50 from STATUS
// when the agent does not answer, and the codes from 100 of this package
// (ErrIPAM, ErrConverge, ErrAgent) for failures of its own, each with a
// message naming the scope or the IPAM plugin and the cause.
//
// # The host namespace
//
// The network configuration's hostNetns names the namespace the bridge
// and the host ends of the veths live in; empty means the agent's own.
// Tests point it at a throwaway namespace.
package cniplugin
