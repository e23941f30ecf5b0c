package main

import "github.com/qiuai/parking/occupancy/redisstore"

// detectInterval is how often parkd runs the incident detector; tests
// shorten it.
var detectInterval = redisstore.DetectInterval
