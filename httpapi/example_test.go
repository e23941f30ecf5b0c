package httpapi_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/httpapi"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/redisstore"
)

// ExampleNewRouter serves the API over a store on an embedded Redis, as
// parkd -demo does, and asks for the town-wide summary.
func ExampleNewRouter() {
	reg, err := occupancy.LoadRegistry("testdata/registry")
	if err != nil {
		panic(err)
	}
	mr, err := miniredis.Run()
	if err != nil {
		panic(err)
	}
	defer mr.Close()
	now := func() time.Time { return time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC) }
	store, err := redisstore.New(redisstore.Options{
		Client: redis.NewClient(&redis.Options{Addr: mr.Addr()}), Registry: reg, Now: now})
	if err != nil {
		panic(err)
	}
	if err := store.Init(context.Background()); err != nil {
		panic(err)
	}
	gin.SetMode(gin.ReleaseMode) // process-wide: no route list on stdout
	router := httpapi.NewRouter(httpapi.Options{Store: store, Zones: store, Registry: reg, Now: now})

	w := httptest.NewRecorder()
	router.ServeHTTP(w, httptest.NewRequest("GET", "/api/v1/summary", nil))
	fmt.Println(w.Code, w.Body)
	// Output:
	// 200 {"total":10,"free":0,"occupied":0,"unknown":10,"closed":0,"updated_at":"2026-11-25T08:00:00.000Z"}
}
