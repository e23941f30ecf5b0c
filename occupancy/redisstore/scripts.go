package redisstore

import (
	"embed"

	"github.com/redis/go-redis/v9"
)

// The Lua scripts, one file each in lua/, each documenting its KEYS, ARGV
// and answer. common.lua holds the functions the state scripts share and
// the packed format of a space's state; it is put before each of them.
//
//go:embed lua/*.lua
var luaFiles embed.FS

// The scripts. Every one runs on the keys of a single zone, which share
// the zone's hash tag, so it is atomic on a Redis Cluster too.
var (
	applyScript         = stateScript("apply")
	sweepScript         = stateScript("sweep")
	closureScript       = stateScript("closure")
	levelScript         = stateScript("level")
	retireScript        = stateScript("retire")
	syncScript          = redis.NewScript(luaSource("sync"))
	registryScript      = redis.NewScript(luaSource("registry"))
	checkScript         = stateScript("check")
	clockScript         = stateScript("clock")
	initScript          = redis.NewScript(luaSource("init"))
	openIncidentsScript = redis.NewScript(luaSource("open_incidents"))
)

// loaded are the scripts loadScripts loads at start and after Redis lost
// them: those run in pipelines (EVALSHA has no fallback there) and the
// frequent ones.
var loaded = []*redis.Script{applyScript, sweepScript, initScript, checkScript, syncScript, retireScript}

// stateScript is lua/common.lua followed by lua/NAME.lua.
func stateScript(name string) *redis.Script {
	return redis.NewScript(luaSource("common") + luaSource(name))
}

// luaSource returns the text of lua/NAME.lua.
func luaSource(name string) string {
	b, err := luaFiles.ReadFile("lua/" + name + ".lua")
	if err != nil {
		panic("redisstore: missing script " + name) // a build error: the files are embedded
	}
	return string(b)
}
