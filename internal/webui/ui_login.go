package webui

import (
	"errors"
	"net/http"
	"strings"
)

// loginPage asks for the token, or (with ?code= from a login URL) offers
// to sign in with the code; the page's script submits that form at once.
// Nothing changes on GET: the code is used by the POST.
func (u *UI) loginPage(w http.ResponseWriter, r *http.Request) {
	u.renderBare(w, r, http.StatusOK, "login", "Sign in", struct{ Code string }{r.URL.Query().Get("code")})
}

func (u *UI) login(w http.ResponseWriter, r *http.Request) {
	code, token := strings.TrimSpace(r.FormValue("code")), strings.TrimSpace(r.FormValue("token"))
	if !u.Guard.SignIn(w, code, token) {
		why := errors.New("wrong token")
		if code != "" {
			why = errors.New("this login URL was used already or has expired: run `credmesh ui` for a new one")
		}
		back(w, r, "/login", "", why)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (u *UI) logout(w http.ResponseWriter, r *http.Request) {
	u.Guard.SignOut(w, r)
	back(w, r, "/login", "signed out", nil)
}
