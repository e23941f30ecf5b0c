package redisstore

// ScriptHashes returns the SHA1 of every script the store loads, for tests
// that look for them on each cluster master.
func ScriptHashes() []string {
	return []string{applyScript.Hash(), sweepScript.Hash(), initScript.Hash(), checkScript.Hash()}
}
