// Package configs holds the service's configuration files and the Qiuai town
// registry. The registry is also built into the binaries, so that `parkd
// -demo` runs from any directory.
package configs

import "embed"

// FS holds the Qiuai registry: qiuai/zones.yaml and qiuai/spaces.csv.
//
//go:embed qiuai/zones.yaml qiuai/spaces.csv
var FS embed.FS
