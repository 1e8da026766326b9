// Package layout holds no code: its test checks that the import graph of
// the module follows the layers of the README's layout table, so that data
// flows down the tree (rtnl → diff → reconcile → actors → agent, api and
// client → cmd) and no import points up.
//
// The table's rows name a path and its layer; a package belongs to the
// row of the longest path that is the package or one of its parents. A
// package may import packages of its own layer or below, never above, and
// every package of the module must fall under a row. Only the imports of
// non-test files count: a test may reach up (to a fake, say).
package layout
