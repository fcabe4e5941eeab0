// Package hostkey writes and reads systemd encrypted credentials in
// systemd's host-key mode (`systemd-creds encrypt --with-key=host`)
// without running systemd-creds: the same bytes, at a fraction of a
// millisecond instead of a 20–30 ms process spawn.
//
// The format (systemd 250 to today; see systemd's docs/CREDENTIALS.md and
// src/shared/creds-util.c, which this package follows but does not copy)
// is Base64 text, wrapped at 79 columns and ending in a newline, of:
//
//   - a header, authenticated but not encrypted: the 16-byte key type ID
//     of the host key (5a1c6a86-df9d-4096-b1d5-a65e0862f19a), the key,
//     block, IV and tag sizes (32, 1, 12, 16; little-endian uint32), the
//     12-byte IV, zero padding to a multiple of 8 bytes;
//   - AES-256-GCM ciphertext, keyed by SHA-256 of the host secret, of a
//     metadata header (timestamp and not-after in µs since the epoch,
//     UINT64_MAX for "none"; the name's length and the name; zero padding
//     to a multiple of 8) followed by the payload;
//   - the 16-byte GCM tag.
//
// The host secret is /var/lib/systemd/credential.secret: a 16-byte ID
// derived from the machine ID (HMAC-SHA256 keyed by /etc/machine-id over a
// fixed application ID, cut to a v4 UUID), then the secret proper (4096
// random bytes). [LoadHostKey] applies systemd's checks (regular file, one
// link, mode 0400, 17 bytes to 16 MiB, this machine's ID) and, stricter
// than systemd, owned by root; [HostKey.Fresh] tells cheaply whether the
// file (or the machine ID) changed since.
//
// TPM2-bound and user-scoped credentials are not written here: only
// systemd-creds can make those. [Decrypt] reads host-key credentials for
// tests and the fuzz target.
//
// hostkey imports only the standard library; credwriter imports it.
package hostkey
