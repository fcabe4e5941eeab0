package node

import (
	"context"

	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/store"
	"github.com/credmesh/credmesh/internal/web"
)

// MaxEventsPage is the most audit events one read returns.
const MaxEventsPage = store.MaxEventsPage

// ReadAudit reads the newest limit audit events of the node with data dir
// dir straight from its store, read-only: it works whether or not the
// daemon runs (the CLI's audit list).
func ReadAudit(ctx context.Context, dir string, limit int) (api.Events, error) {
	st, err := store.OpenReadOnly(ctx, StorePath(dir))
	if err != nil {
		return api.Events{}, err
	}
	defer st.Close()
	es, err := st.Events(ctx, store.EventFilter{Limit: limit})
	if err != nil {
		return api.Events{}, err
	}
	return web.EventsResponse(es, limit), nil
}
