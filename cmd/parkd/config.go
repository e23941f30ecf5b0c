package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/jobs"
	"github.com/qiuai/parking/occupancy/redisstore"
)

// Config is parkd's configuration: the YAML file, then the PARKD_*
// environment variables over it. configs/parkd.yaml documents every field.
type Config struct {
	MQTT struct {
		URL         string        `yaml:"url"`
		ClientID    string        `yaml:"client_id"`
		Username    string        `yaml:"username"`
		Password    string        `yaml:"password"`
		Topic       string        `yaml:"topic"`
		SharedGroup string        `yaml:"shared_group"`
		Workers     int           `yaml:"workers"`
		Queue       int           `yaml:"queue"`
		Batch       int           `yaml:"batch"`
		BatchWait   time.Duration `yaml:"batch_wait"`
		TLS         TLSConfig     `yaml:"tls"`
	} `yaml:"mqtt"`
	Redis struct {
		URL      string    `yaml:"url"`
		Password string    `yaml:"password"`
		Prefix   string    `yaml:"prefix"`
		TLS      TLSConfig `yaml:"tls"`
		// PollFeed makes the feed reader poll the change streams instead
		// of a blocking read: for a Redis-compatible server whose blocking
		// reads stall other clients (the demo's embedded miniredis).
		PollFeed bool `yaml:"poll_feed"`
	} `yaml:"redis"`
	HTTP struct {
		Addr            string        `yaml:"addr"`
		ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
		// Staff access and public rate limit: see staff.go.
		Tokens         string   `yaml:"-"` // PARKD_TOKENS or PARKD_TOKENS_FILE only, never the YAML file
		TokensFile     string   `yaml:"tokens_file"`
		PublicRate     float64  `yaml:"public_rate"`
		TrustedProxies []string `yaml:"trusted_proxies"`
		// Metrics: /metrics on a listener of its own, and its token
		// (PARKD_METRICS_TOKEN, or the file metrics_token_file names;
		// never the YAML file itself): staff.go.
		MetricsAddr      string `yaml:"metrics_addr"`
		MetricsTokenFile string `yaml:"metrics_token_file"`
		MetricsToken     string `yaml:"-"`
		// LogRequests logs every request at INFO (httpapi.Options).
		LogRequests bool `yaml:"log_requests"`
		// The live event streams' limits (httpapi/streams.go): in all, and
		// from one client IP; 0 is no limit.
		EventsMaxStreams int `yaml:"events_max_streams"`
		EventsMaxPerIP   int `yaml:"events_max_per_ip"`
	} `yaml:"http"`
	Registry     string        `yaml:"registry"`
	OfflineAfter time.Duration `yaml:"offline_after"`
	// MaxReadingAge is how far before its receive time a reading's sensor
	// time may be (ingest.Options.MaxReadingAge).
	MaxReadingAge  time.Duration `yaml:"max_reading_age"`
	SweepInterval  time.Duration `yaml:"sweep_interval"`
	DetectInterval time.Duration `yaml:"detect_interval"`
	// Reload holds the registry reload's guard (docs/operations.md).
	Reload struct {
		MaxRemoveShare float64 `yaml:"max_remove_share"` // default 0.1
	} `yaml:"reload"`
	// Levels are the zone level thresholds per zone type over
	// occupancy.DefaultLevelThresholds (levels.go).
	Levels map[occupancy.ZoneType]occupancy.LevelThresholds `yaml:"levels"`
	// Health holds the thresholds the incident detector and
	// /api/v1/sensors?health= judge sensors by.
	Health struct {
		LowBatteryMV int `yaml:"low_battery_mv"` // default 3000
		FlapChanges  int `yaml:"flap_changes"`   // default 10 per hour
	} `yaml:"health"`
	// Map is the web pages' base map (mapconfig.go).
	Map struct {
		Tiles TilesConfig `yaml:"tiles"`
	} `yaml:"map"`
	Log struct {
		Level  string `yaml:"level"`
		Format string `yaml:"format"`
	} `yaml:"log"`
	// LoRaWAN network servers' uplinks, read on the mqtt broker beside the
	// native topic, or on a broker of their own; an empty topic turns its
	// format off.
	LoRaWAN struct {
		TTSTopic        string `yaml:"tts_topic"`        // The Things Stack v3
		ChirpStackTopic string `yaml:"chirpstack_topic"` // ChirpStack v4
		// MQTT is the network server's broker; an empty URL means the mqtt
		// broker above.
		MQTT struct {
			URL      string    `yaml:"url"`
			ClientID string    `yaml:"client_id"` // default: mqtt.client_id + "-lorawan"
			Username string    `yaml:"username"`
			Password string    `yaml:"password"`
			TLS      TLSConfig `yaml:"tls"`
		} `yaml:"mqtt"`
	} `yaml:"lorawan"`
}

// defaultConfig holds every default; the YAML file and environment only
// override what they name.
func defaultConfig() Config {
	var c Config
	c.MQTT.URL = "tcp://127.0.0.1:1883"
	c.MQTT.ClientID = "parkd-ingest-0"
	c.MQTT.Topic = "parking/v1/sensors/+/up"
	c.MQTT.Workers = 16
	c.MQTT.Queue = 1024
	c.MQTT.Batch = 64
	c.MQTT.BatchWait = time.Millisecond
	c.Redis.URL = "redis://127.0.0.1:6379/0"
	c.Redis.Prefix = "pk"
	c.HTTP.Addr = "127.0.0.1:8080"
	c.HTTP.ShutdownTimeout = 15 * time.Second
	c.HTTP.PublicRate = 20
	c.HTTP.EventsMaxStreams = 2000
	c.HTTP.EventsMaxPerIP = 20
	c.Registry = "configs/qiuai"
	c.OfflineAfter = 30 * time.Minute
	c.MaxReadingAge = occupancy.DefaultMaxReadingAge
	c.SweepInterval = 30 * time.Second
	c.DetectInterval = jobs.DetectInterval
	c.Reload.MaxRemoveShare = occupancy.DefaultMaxRemoveShare
	c.Levels = maps.Clone(occupancy.DefaultLevelThresholds)
	c.Health.LowBatteryMV = 3000
	c.Health.FlapChanges = 10
	c.Map.Tiles = defaultTiles()
	c.Log.Level = "info"
	c.Log.Format = "text"
	c.LoRaWAN.TTSTopic = "v3/+/devices/+/up"
	c.LoRaWAN.ChirpStackTopic = "application/+/device/+/event/up"
	return c
}

// loadConfig reads the YAML file at path over the defaults, then applies the
// environment. A missing file is an error only when required is set (the
// user named it with -config).
func loadConfig(path string, required bool, getenv func(string) string) (Config, error) {
	c := defaultConfig()
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !required:
	case err != nil:
		return c, fmt.Errorf("config: %w", err)
	default:
		dec := yaml.NewDecoder(strings.NewReader(string(data)))
		dec.KnownFields(true)
		// io.EOF: an empty file, or one of comments only, changes nothing.
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
			return c, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := c.applyEnv(getenv); err != nil {
		return c, err
	}
	return c, c.validate()
}

// applyEnv overrides fields from PARKD_* variables. A *_FILE variant reads a
// secret from a file (Docker and systemd credentials).
func (c *Config) applyEnv(getenv func(string) string) error {
	str := map[string]*string{
		"PARKD_MQTT_URL":                 &c.MQTT.URL,
		"PARKD_MQTT_CLIENT_ID":           &c.MQTT.ClientID,
		"PARKD_MQTT_USERNAME":            &c.MQTT.Username,
		"PARKD_MQTT_PASSWORD":            &c.MQTT.Password,
		"PARKD_MQTT_SHARED_GROUP":        &c.MQTT.SharedGroup,
		"PARKD_REDIS_URL":                &c.Redis.URL,
		"PARKD_REDIS_PASSWORD":           &c.Redis.Password,
		"PARKD_MQTT_TLS_CA_FILE":         &c.MQTT.TLS.CAFile,
		"PARKD_MQTT_TLS_CERT_FILE":       &c.MQTT.TLS.CertFile,
		"PARKD_MQTT_TLS_KEY_FILE":        &c.MQTT.TLS.KeyFile,
		"PARKD_MQTT_TLS_SERVER_NAME":     &c.MQTT.TLS.ServerName,
		"PARKD_REDIS_TLS_CA_FILE":        &c.Redis.TLS.CAFile,
		"PARKD_REDIS_TLS_CERT_FILE":      &c.Redis.TLS.CertFile,
		"PARKD_REDIS_TLS_KEY_FILE":       &c.Redis.TLS.KeyFile,
		"PARKD_REDIS_TLS_SERVER_NAME":    &c.Redis.TLS.ServerName,
		"PARKD_HTTP_ADDR":                &c.HTTP.Addr,
		"PARKD_REGISTRY":                 &c.Registry,
		"PARKD_LOG_LEVEL":                &c.Log.Level,
		"PARKD_LOG_FORMAT":               &c.Log.Format,
		"PARKD_LORAWAN_TTS_TOPIC":        &c.LoRaWAN.TTSTopic,
		"PARKD_LORAWAN_CHIRPSTACK_TOPIC": &c.LoRaWAN.ChirpStackTopic,
		"PARKD_LORAWAN_MQTT_URL":         &c.LoRaWAN.MQTT.URL,
		"PARKD_LORAWAN_MQTT_CLIENT_ID":   &c.LoRaWAN.MQTT.ClientID,
		"PARKD_LORAWAN_MQTT_USERNAME":    &c.LoRaWAN.MQTT.Username,
		"PARKD_LORAWAN_MQTT_PASSWORD":    &c.LoRaWAN.MQTT.Password,
	}
	for name, dst := range str {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	// Secrets may come from files instead (Docker and systemd credentials).
	secrets := map[string]*string{
		"PARKD_MQTT_PASSWORD_FILE":         &c.MQTT.Password,
		"PARKD_LORAWAN_MQTT_PASSWORD_FILE": &c.LoRaWAN.MQTT.Password,
		"PARKD_REDIS_PASSWORD_FILE":        &c.Redis.Password,
		"PARKD_REDIS_URL_FILE":             &c.Redis.URL,
	}
	for name, dst := range secrets {
		if f := getenv(name); f != "" {
			v, err := readSecretFile(name, f)
			if err != nil {
				return err
			}
			*dst = v
		}
	}
	if err := c.applyHTTPEnv(getenv); err != nil {
		return err
	}
	if err := c.Map.Tiles.applyEnv(getenv); err != nil {
		return err
	}
	if err := durationEnv(getenv, "PARKD_MQTT_BATCH_WAIT", "1ms", &c.MQTT.BatchWait); err != nil {
		return err
	}
	return durationEnv(getenv, "PARKD_OFFLINE_AFTER", "30m", &c.OfflineAfter)
}

// intEnv sets *dst from the environment variable name when it is set;
// what says what the number counts, in the error.
func intEnv(getenv func(string) string, name, what string, dst *int) error {
	v := getenv(name)
	if v == "" {
		return nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return fmt.Errorf("config: %s %q is not a whole number of %s", name, v, what)
	}
	*dst = n
	return nil
}

// durationEnv sets *dst from the environment variable name when it is set;
// example shows a valid value in the error.
func durationEnv(getenv func(string) string, name, example string, dst *time.Duration) error {
	v := getenv(name)
	if v == "" {
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf("config: %s %q is not a duration such as %s", name, v, example)
	}
	*dst = d
	return nil
}

// maxBatchWait caps mqtt.batch_wait: it is latency added to every message
// that waits for company.
const maxBatchWait = 100 * time.Millisecond

func (c *Config) validate() error {
	if err := validLevels(c.Levels); err != nil {
		return err
	}
	if err := c.Map.Tiles.source().Validate(); err != nil {
		return fmt.Errorf("config: map.%w", err)
	}
	switch {
	case c.MQTT.ClientID == "":
		return errors.New("config: mqtt.client_id (PARKD_MQTT_CLIENT_ID) must not be empty: the persistent session needs a stable id")
	case c.OfflineAfter < time.Minute:
		return fmt.Errorf("config: offline_after (PARKD_OFFLINE_AFTER) %s is under 1m", c.OfflineAfter)
	case c.MaxReadingAge < time.Minute:
		return fmt.Errorf("config: max_reading_age %s is under 1m", c.MaxReadingAge)
	case c.SweepInterval <= 0 || c.DetectInterval <= 0:
		return fmt.Errorf("config: sweep_interval %s and detect_interval %s must be positive", c.SweepInterval, c.DetectInterval)
	case !(c.Reload.MaxRemoveShare > 0 && c.Reload.MaxRemoveShare <= 1):
		return fmt.Errorf("config: reload.max_remove_share %g must be above 0 and at most 1 (1 turns the guard off)", c.Reload.MaxRemoveShare)
	case c.Health.LowBatteryMV < 1 || c.Health.FlapChanges < 2:
		return fmt.Errorf("config: health.low_battery_mv %d must be at least 1 and health.flap_changes %d at least 2",
			c.Health.LowBatteryMV, c.Health.FlapChanges)
	case c.HTTP.EventsMaxStreams < 0 || c.HTTP.EventsMaxPerIP < 0:
		return fmt.Errorf("config: http.events_max_streams (PARKD_EVENTS_MAX_STREAMS) %d and http.events_max_per_ip (PARKD_EVENTS_MAX_PER_IP) %d must be 0 (no limit) or more",
			c.HTTP.EventsMaxStreams, c.HTTP.EventsMaxPerIP)
	case c.MQTT.Workers < 1 || c.MQTT.Queue < 1 || c.MQTT.Batch < 1:
		return errors.New("config: mqtt.workers, mqtt.queue and mqtt.batch must be at least 1")
	case c.MQTT.BatchWait < 0 || c.MQTT.BatchWait > maxBatchWait:
		return fmt.Errorf("config: mqtt.batch_wait %s must be between 0 and %s", c.MQTT.BatchWait, maxBatchWait)
	case !parses(c.MQTT.URL):
		return errors.New("config: mqtt.url (PARKD_MQTT_URL) is not a URL such as tcp://host:1883") // not echoed: it may hold a password
	case c.LoRaWAN.MQTT.URL != "" && !parses(c.LoRaWAN.MQTT.URL):
		return errors.New("config: lorawan.mqtt.url (PARKD_LORAWAN_MQTT_URL) is not a URL such as ssl://host:8883")
	case c.LoRaWAN.MQTT.URL != "" && c.LoRaWAN.TTSTopic == "" && c.LoRaWAN.ChirpStackTopic == "":
		return errors.New("config: lorawan.mqtt.url is set but lorawan.tts_topic and lorawan.chirpstack_topic are both empty")
	case c.LoRaWAN.MQTT.TLS.set() && !mqttTLSScheme(c.LoRaWAN.MQTT.URL):
		return errors.New("config: lorawan.mqtt.tls is set but lorawan.mqtt.url is not ssl://, tls://, mqtts:// or wss://")
	case c.MQTT.TLS.set() && !mqttTLSScheme(c.MQTT.URL):
		return fmt.Errorf("config: mqtt.tls is set but mqtt.url %s is not ssl://, tls://, mqtts:// or wss://", redisstore.RedactURL(c.MQTT.URL))
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("config: log.level %q is not debug, info, warn or error", c.Log.Level)
	}
	return nil
}
