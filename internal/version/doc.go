// Package version reports the build's version. Version is set at link time
// (-ldflags "-X github.com/credmesh/credmesh/internal/version.Version=v1.2.3");
// otherwise it comes from the module's build info.
//
// It imports only the standard library; any package may import it.
package version
