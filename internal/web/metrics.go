package web

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/credmesh/credmesh/internal/api"
)

// Metrics are the node's Prometheus metrics, on its own registry (several
// nodes can share a process, as the demo does).
type Metrics struct {
	reg          *prometheus.Registry
	delivery     prometheus.Histogram
	credWrites   prometheus.Counter
	credFailures prometheus.Counter
}

// StatusSource gives the counts the metrics report at scrape time.
type StatusSource interface {
	Status(ctx context.Context) (api.Status, error)
}

// NewMetrics builds the registry: gauges read from src at each scrape,
// counters and the delivery histogram fed by the node.
func NewMetrics(src StatusSource) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		delivery: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "credmesh_gossip_delivery_seconds",
			Help:    "Time from a record being signed by another node to it being stored here.",
			Buckets: []float64{.001, .002, .005, .01, .02, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}),
		credWrites:   prometheus.NewCounter(prometheus.CounterOpts{Name: "credmesh_credential_writes_total", Help: "Credential files written or removed."}),
		credFailures: prometheus.NewCounter(prometheus.CounterOpts{Name: "credmesh_credential_failures_total", Help: "Failed credential writes or removals."}),
	}
	m.reg.MustRegister(m.delivery, m.credWrites, m.credFailures, &statusCollector{src: src})
	return m
}

// ObserveDelivery records a remote record's delivery delay.
func (m *Metrics) ObserveDelivery(d time.Duration) {
	if d >= 0 {
		m.delivery.Observe(d.Seconds())
	}
}

// CredentialWritten counts a credential written or removed.
func (m *Metrics) CredentialWritten() { m.credWrites.Inc() }

// CredentialFailed counts a failed credential write.
func (m *Metrics) CredentialFailed() { m.credFailures.Inc() }

// Handler serves the registry.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

var (
	descPeers    = prometheus.NewDesc("credmesh_peers", "Other nodes by state (online counts members heard from).", []string{"state"}, nil)
	descRecords  = prometheus.NewDesc("credmesh_records", "Records stored, by kind.", []string{"kind"}, nil)
	descRejects  = prometheus.NewDesc("credmesh_rejects_total", "Messages and records refused since start, by reason.", []string{"reason"}, nil)
	descDropped  = prometheus.NewDesc("credmesh_gossip_dropped_total", "Gossip messages dropped before validation since start (from non-members, graylisted or throttled peers), by reason.", []string{"reason"}, nil)
	descCreds    = prometheus.NewDesc("credmesh_credentials", "Credential files by state.", []string{"state"}, nil)
	descUp       = prometheus.NewDesc("credmesh_uptime_seconds", "Seconds since the node started.", nil, nil)
	descGossip   = prometheus.NewDesc("credmesh_gossip_bytes_total", "Bytes on GossipSub streams since start, by direction.", []string{"direction"}, nil)
	descReached  = prometheus.NewDesc("credmesh_peers_reached", "Other members by how this node reaches them now (direct, hole-punched, relayed, unreachable).", []string{"how"}, nil)
	descPublic   = prometheus.NewDesc("credmesh_reachability_public", "1 when this node is dialable from anywhere (and relays for members), 0 when it is reached through member relays.", nil, nil)
	descWriterOK = prometheus.NewDesc("credmesh_credential_writer_ok", "1 when the credential writer is healthy, 0 when degraded.", nil, nil)
)

type statusCollector struct{ src StatusSource }

func (c *statusCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPeers, descRecords, descRejects, descDropped, descCreds, descUp, descWriterOK, descGossip, descReached, descPublic} {
		ch <- d
	}
}

func (c *statusCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := c.src.Status(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descPeers, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(descPeers, prometheus.GaugeValue, float64(s.Counts.Online), "online")
	ch <- prometheus.MustNewConstMetric(descPeers, prometheus.GaugeValue, float64(s.Counts.Members), "member")
	ch <- prometheus.MustNewConstMetric(descPeers, prometheus.GaugeValue, float64(s.Counts.Pending), "pending")
	for k, v := range s.Counts.Records {
		ch <- prometheus.MustNewConstMetric(descRecords, prometheus.GaugeValue, float64(v), k)
	}
	for k, v := range s.Counts.Dropped {
		ch <- prometheus.MustNewConstMetric(descDropped, prometheus.CounterValue, float64(v), k)
	}
	for k, v := range s.Counts.Rejects {
		ch <- prometheus.MustNewConstMetric(descRejects, prometheus.CounterValue, float64(v), k)
	}
	ch <- prometheus.MustNewConstMetric(descCreds, prometheus.GaugeValue, float64(s.Credentials.Written), "written")
	ch <- prometheus.MustNewConstMetric(descCreds, prometheus.GaugeValue, float64(s.Credentials.Failing), "failing")
	ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, s.UptimeSeconds)
	ch <- prometheus.MustNewConstMetric(descGossip, prometheus.CounterValue, float64(s.Gossip.BytesIn), "in")
	ch <- prometheus.MustNewConstMetric(descGossip, prometheus.CounterValue, float64(s.Gossip.BytesOut), "out")
	for how, v := range s.Gossip.Reached {
		ch <- prometheus.MustNewConstMetric(descReached, prometheus.GaugeValue, float64(v), how)
	}
	public := 0.0
	if s.Gossip.Reachability == "public" {
		public = 1
	}
	ch <- prometheus.MustNewConstMetric(descPublic, prometheus.GaugeValue, public)
	ok := 0.0
	if s.Credentials.State == "ok" {
		ok = 1
	}
	ch <- prometheus.MustNewConstMetric(descWriterOK, prometheus.GaugeValue, ok)
}
