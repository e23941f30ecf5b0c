package main

import "github.com/qiuai/parking/occupancy"

// registryLoader re-reads cfg.Registry for POST /api/v1/admin/registry/reload;
// nil (the endpoint answers 404) when parkd was handed a registry instead of
// loading it from that folder.
func registryLoader(cfg Config, fromDir bool) func() (*occupancy.Registry, error) {
	if !fromDir {
		return nil
	}
	return func() (*occupancy.Registry, error) { return occupancy.LoadRegistry(cfg.Registry) }
}
