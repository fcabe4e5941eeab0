package web

import (
	"net/http"
)

func (u *UI) dashboard(w http.ResponseWriter, r *http.Request) {
	t, err := u.API.Backend.Ticket(r.Context())
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, http.StatusOK, "dashboard", "Dashboard", "dashboard", struct{ Ticket string }{t.Ticket})
}
