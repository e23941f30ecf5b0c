package redisstore

// ScriptHashes returns the SHA1 of every script the store loads, for tests
// that look for them on each cluster master.
func ScriptHashes() []string {
	hashes := make([]string, len(loaded))
	for i, s := range loaded {
		hashes[i] = s.Hash()
	}
	return hashes
}
