package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-zookeeper/zk"
)

// This file reads services straight from ZooKeeper, all reads in flight at
// once, without touching the mirror: for MirrorReads(false), and while the
// session is disconnected and the mirror may be stale.

// readService reads the nodes of the service called name in format f.
func readService(ctx context.Context, s *Session, f *format, name string) ([]*Service, error) {
	l, _ := f.layout(s.cfg)
	dir, ok := f.dir(name)
	if !ok {
		return nil, nil
	}
	dirPath := l.dirPath(dir)
	children, err := call(ctx, s.conn, func(c *zk.Conn) ([]string, error) {
		ch, _, err := c.Children(dirPath)
		return ch, err
	})
	if errors.Is(err, zk.ErrNoNode) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", shortPath(dirPath), err)
	}
	paths := make([]string, len(children))
	for i, c := range children {
		paths[i] = l.refPath(nodeRef{dir, c})
	}
	got, err := readData(ctx, s.conn, paths)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", shortPath(dirPath), err)
	}
	refs := make([]nodeRef, len(children))
	for i, c := range children {
		refs[i] = nodeRef{dir, c}
	}
	return decodeAll(s.cfg, f, refs, paths, got), nil
}

// readAllServices lists and reads every service in format f.
func readAllServices(ctx context.Context, s *Session, f *format) ([]*Service, error) {
	l, _ := f.layout(s.cfg)
	refs, err := listNodes(ctx, s, l)
	if err != nil {
		return nil, err
	}
	paths := make([]string, len(refs))
	for i, ref := range refs {
		paths[i] = l.refPath(ref)
	}
	got, err := readData(ctx, s.conn, paths)
	if err != nil {
		return nil, fmt.Errorf("read services: %w", err)
	}
	svcs := decodeAll(s.cfg, f, refs, paths, got)
	sortServices(svcs)
	return svcs, nil
}

// readData reads the data of the znodes at paths, without watches, all at
// once, returning when ctx ends.
func readData(ctx context.Context, c *conn, paths []string) ([]readResult, error) {
	items := make([]readItem, len(paths))
	for i, p := range paths {
		items[i] = readItem{path: p, need: needData}
	}
	return c.read(ctx, items, readOptions{detached: true})
}

// decodeAll decodes read znodes into services grouped by name and
// version, skipping (and logging) what is not a registration.
func decodeAll(cfg Config, f *format, refs []nodeRef, paths []string, got []readResult) []*Service {
	nodes := make([]headNode, 0, len(got))
	d := f.decoder(nil)
	for i, z := range got {
		if errors.Is(z.dataErr, zk.ErrNoNode) {
			continue
		}
		if z.dataErr != nil {
			cfg.logger.Logf(LevelWarn, "zookeeper: skipping %s: %v", shortPath(paths[i]), z.dataErr)
			continue
		}
		head, node, err := d.decode(refs[i], z.data)
		if err != nil {
			if !errors.Is(err, errPublishedHere) {
				cfg.logger.Logf(LevelWarn, "zookeeper: skipping %s: %v", shortPath(paths[i]), err)
			}
			continue
		}
		nodes = append(nodes, headNode{head, &node})
	}
	return groupNodes(nodes)
}
