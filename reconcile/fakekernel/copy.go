package fakekernel

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/rtnl"
)

// Source is what Copy reads a namespace's state from: an *rtnl.Socket,
// a reconcile.Kernel, or another Kernel.
type Source interface {
	Namespace() rtnl.Namespace
	NamespaceID() rtnl.NamespaceID
	Links() ([]rtnl.Link, error)
	Addresses() ([]rtnl.Address, error)
	Neighbours() ([]rtnl.Neighbour, error)
	Rules() ([]rtnl.Rule, error)
	RoutesFiltered(f rtnl.RouteFilter) ([]rtnl.Route, error)
	Nexthops() ([]rtnl.Nexthop, error)
}

// CopyOptions says what Copy leaves out. The zero value copies
// everything.
type CopyOptions struct {
	// NoRoutes leaves out the routes and nexthop objects, for a pass that
	// manages none (reconcile.Options.NoRoutes) and so never lists them.
	NoRoutes bool
}

// Copy returns a kernel holding what src lists now: its links,
// addresses, neighbours, rules, routes of every table and protocol, and
// nexthop objects, with src's namespace and identity. A pass applied to
// the copy meets what it would meet in src (a foreign route holding a
// desired key refuses the create with EEXIST, say) and leaves src as it
// is: this is how a plan is made (see reconcile.Plan).
//
// What the copy cannot know of src, it takes as the usual case:
//
//   - a link it creates gets the index after the highest one listed,
//     while the kernel's next may be higher (it does not reuse the index
//     of a link deleted since);
//   - every link kind may be created, where the kernel refuses the kinds
//     it was built without (EOPNOTSUPP);
//   - a bridge's MTU was set by hand (and no longer follows its ports')
//     when it differs from the lowest of its ports' MTUs;
//   - IPv6 is on on every link.
//
// A kernel without nexthop objects (which fails to list them with
// EOPNOTSUPP or EINVAL) is copied as holding none. Copy fails with the
// first listing that fails.
func Copy(src Source, o CopyOptions) (*Kernel, error) {
	k := New(src.Namespace(), src.NamespaceID())
	links, err := src.Links()
	if err != nil {
		return nil, fmt.Errorf("copying links: %w", err)
	}
	if k.addrs, err = src.Addresses(); err != nil {
		return nil, fmt.Errorf("copying addresses: %w", err)
	}
	if k.neighs, err = src.Neighbours(); err != nil {
		return nil, fmt.Errorf("copying neighbours: %w", err)
	}
	if k.rules, err = src.Rules(); err != nil {
		return nil, fmt.Errorf("copying rules: %w", err)
	}
	k.links = links
	for _, l := range links {
		k.next = max(k.next, l.Index+1)
	}
	for _, l := range links {
		if l.Kind == "bridge" {
			if low, ok := k.lowestPortMTU(l.Index); ok && low != l.MTU {
				k.mtuSet[l.Index] = true
			}
		}
	}
	if o.NoRoutes {
		return k, nil
	}
	if err := k.copyRoutes(src); err != nil {
		return nil, fmt.Errorf("copying routes: %w", err)
	}
	k.nhs, err = src.Nexthops()
	if err != nil && !errors.Is(err, unix.EOPNOTSUPP) && !errors.Is(err, unix.EINVAL) {
		return nil, fmt.Errorf("copying nexthops: %w", err)
	}
	return k, nil
}

// copyRoutes fills k's route table with every route of src: as a dump
// streams them when src can (an *rtnl.Socket), without a list of them
// all, retrying a dump a concurrent change interrupted (EINTR).
func (k *Kernel) copyRoutes(src Source) error {
	st, ok := src.(interface {
		EachRoute(f rtnl.RouteFilter, fn func(*rtnl.Route) error) error
	})
	if !ok {
		routes, err := src.RoutesFiltered(rtnl.RouteFilter{})
		if err != nil {
			return err
		}
		k.routes = newRouteTable(len(routes))
		for _, r := range routes {
			k.routes.add(r)
		}
		return nil
	}
	for attempt := 1; ; attempt++ {
		k.routes = newRouteTable(0)
		err := st.EachRoute(rtnl.RouteFilter{}, func(r *rtnl.Route) error {
			k.routes.add(*r)
			return nil
		})
		if err == nil || !errors.Is(err, unix.EINTR) || attempt == 5 {
			return err
		}
	}
}
