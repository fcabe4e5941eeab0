// credmesh UI: copy buttons and live refresh. Everything works without it.
"use strict";

document.addEventListener("click", function (ev) {
  var b = ev.target.closest("button.copy");
  if (!b) return;
  var text = b.getAttribute("data-copy");
  var done = function () {
    b.textContent = "copied";
    b.classList.add("copied");
    setTimeout(function () { b.textContent = "copy"; b.classList.remove("copied"); }, 1500);
  };
  if (navigator.clipboard && navigator.clipboard.writeText) {
    navigator.clipboard.writeText(text).then(done, function () {});
  }
});

function getJSON(url) {
  return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
    .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); });
}

function setText(id, v) {
  var el = document.getElementById(id);
  if (el && v !== undefined) el.textContent = String(v);
}

function refresh() {
  getJSON("/api/v1/status").then(function (s) {
    setText("sb-online", s.counts.online);
    setText("sb-members", s.counts.members);
    setText("sb-pending", s.counts.pending);
    setText("sb-secrets", s.counts.secrets);
    setText("sb-creds", s.credentials.state);
    setText("sb-written", s.credentials.written);
  }).catch(function () {});

  if (document.getElementById("peers")) {
    getJSON("/api/v1/peers").then(function (ps) {
      (ps.peers || []).forEach(function (p) {
        var row = document.querySelector('tr[data-node="' + p.node_id + '"]');
        if (!row) return;
        var cell = row.querySelector("td.online");
        if (!cell) return;
        cell.textContent = p.online ? "online" : "offline";
        cell.className = "online " + (p.online ? "yes" : "no");
      });
    }).catch(function () {});
  }

  var targets = document.getElementById("targets");
  if (targets) {
    var name = targets.getAttribute("data-secret");
    getJSON("/api/v1/secrets/" + encodeURIComponent(name)).then(function (h) {
      (h.versions || []).forEach(function (v) {
        if (!v.current) return;
        var cell = targets.querySelector('td[data-rollout="' + v.target + '"]');
        if (!cell) return;
        cell.textContent = v.rollout.state + (v.rollout.error ? ": " + v.rollout.error : "");
        cell.className = "rollout " + v.rollout.state;
      });
    }).catch(function () {});
  }
}

setInterval(refresh, 3000);

// A login URL (/login?code=...) signs in at once: its form posts the
// one-time code (a GET never changes anything).
document.addEventListener("DOMContentLoaded", function () {
  var f = document.getElementById("login-code");
  if (f) f.submit();
});
