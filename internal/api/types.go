package api

import "time"

// Prefix is where every API route lives.
const Prefix = "/api/v1"

// MaxRequestBody caps request bodies (a 1 MiB secret plus JSON overhead).
const MaxRequestBody = 3 << 20

// Status is GET /api/v1/status.
type Status struct {
	NodeID        string    `json:"node_id"`
	Hostname      string    `json:"hostname"`
	AgeRecipient  string    `json:"age_recipient"`
	Version       string    `json:"version"`
	StartedAt     time.Time `json:"started_at"`
	UptimeSeconds float64   `json:"uptime_seconds"`
	DataDir       string    `json:"data_dir"`
	Counts        Counts    `json:"counts"`
}

// Counts summarises what the node holds.
type Counts struct {
	Events int64 `json:"events"`
}

// Ticket is GET /api/v1/ticket.
type Ticket struct {
	NodeID string `json:"node_id"`
	Ticket string `json:"ticket"`
}

// Event is one audit log entry as the API returns it.
type Event struct {
	ID      int64          `json:"id"`
	Time    time.Time      `json:"time"`
	Type    string         `json:"type"`
	Node    string         `json:"node,omitempty"`
	Secret  string         `json:"secret,omitempty"`
	Message string         `json:"message"`
	Data    map[string]any `json:"data,omitempty"`
}

// Events is GET /api/v1/audit.
type Events struct {
	Events []Event `json:"events"`
	// Next is the cursor for the following page (before=Next), 0 at the end.
	Next int64 `json:"next,omitempty"`
}

// Error is the body of every non-2xx API response.
type Error struct {
	Error string `json:"error"`
}
