package cli

import (
	"testing"

	"github.com/credmesh/credmesh/internal/api"
)

func TestCredentialsText(t *testing.T) {
	for _, tc := range []struct {
		in   api.Credentials
		want string
	}{
		{api.Credentials{State: "ok", Dir: "/etc/credstore.encrypted", Written: 2, Key: "host"},
			"ok, 2 written in /etc/credstore.encrypted, encrypted by the host key (in process)"},
		{api.Credentials{State: "ok", Dir: "/d", Written: 0, Key: "systemd-creds"},
			"ok, 0 written in /d, encrypted by systemd-creds"},
		{api.Credentials{State: "degraded", Dir: "/d", Written: 1, Failing: 1, Reason: "no TPM2", Key: "host+tpm2"},
			"degraded, 1 written in /d, encrypted by systemd-creds (host key + TPM2) (1 failing: no TPM2)"},
		{api.Credentials{State: "ok", Dir: "/d", Key: "plain"}, "ok, 0 written in /d, encrypted by nothing (plain files, demo)"},
		{api.Credentials{State: "ok", Dir: "/d"}, "ok, 0 written in /d"},
	} {
		if got := credentialsText(tc.in); got != tc.want {
			t.Errorf("credentialsText(%+v)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}
