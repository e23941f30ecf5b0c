package ingest

import (
	"errors"
	"fmt"
	"strings"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/qiuai/parking/internal/retry"
)

// onConnect subscribes on every (re)connection, retrying with backoff (1s
// doubling up to ReconnectMax) while the connection lasts. paho runs it on
// its own goroutine.
func (s *Subscriber) onConnect(c mqtt.Client) {
	s.subscribed.Store(false)
	s.log.Info("connected to MQTT broker", "broker", redactURL(s.opts.BrokerURL))
	bo := retry.Backoff(time.Second, max(time.Second, s.opts.ReconnectMax))
	for {
		err := s.subscribe(c)
		if err == nil {
			s.subscribed.Store(true)
			s.log.Info("subscribed", "filters", strings.Join(s.opts.filters(), " "), "qos", 1)
			return
		}
		s.connLog.Log("subscribe failed, retrying", "filters", strings.Join(s.opts.filters(), " "), "error", err.Error())
		if !retry.Wait(s.stop, bo.NextBackOff()) || !c.IsConnectionOpen() {
			return // stopping, or the next onConnect subscribes
		}
	}
}

// subscribe subscribes to the filters at QoS 1. The nil callback routes
// every message to the default handler, which was registered before
// connecting so that messages queued in the session are not missed.
func (s *Subscriber) subscribe(c mqtt.Client) error {
	subs := map[string]byte{}
	for _, f := range s.opts.filters() {
		subs[f] = 1
	}
	tok := c.SubscribeMultiple(subs, nil)
	if !tok.WaitTimeout(s.opts.ConnectTimeout) {
		return errors.New("no SUBACK within the connect timeout")
	}
	if err := tok.Error(); err != nil {
		return err
	}
	st, ok := tok.(*mqtt.SubscribeToken)
	if !ok {
		return nil
	}
	for topic, code := range st.Result() {
		if code > 2 {
			return fmt.Errorf("broker refused the subscription to %s (code %#x)", topic, code)
		}
	}
	return nil
}

// onConnectionLost records a lost connection; paho reconnects by itself.
func (s *Subscriber) onConnectionLost(_ mqtt.Client, err error) {
	s.connLog.Log("lost connection to MQTT broker; reconnecting", "error", err.Error())
}

// onReconnecting logs reconnection attempts at a limited rate.
func (s *Subscriber) onReconnecting(_ mqtt.Client, _ *mqtt.ClientOptions) {
	s.connLog.Log("reconnecting to MQTT broker", "broker", redactURL(s.opts.BrokerURL))
}
