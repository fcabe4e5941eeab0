// Package credwriter is the SystemdActor: it turns this node's secrets into
// systemd encrypted credentials and owns every systemd-creds call.
//
// Messages: SyncSecret (one name), SyncAll (every secret of this node, or a
// forced rewrite), Remove (one name). Whatever way a version reached the
// store (set here, gossip, anti-entropy), the node sends SyncSecret, and
// the actor compares the current version with the one it last wrote
// (cred_state in the store): it encrypts the plaintext, writes TMP,
// fsyncs, renames TMP to NAME in the credential directory and fsyncs the
// directory; a tombstone or a secret no longer addressed here removes the
// file. Writes run on a bounded pool of workers, one at a time per name.
//
// What encrypts is the key mode (Config.Key, --creds-key): InProcess
// writes systemd's host-key format itself (package hostkey), re-checking
// the host secret before each write; SystemdCreds runs
// `systemd-creds encrypt --name=NAME - -` (plaintext on stdin). auto, the
// default, writes in process where systemd-creds' own default would be
// the host key alone (no TPM2 device, host secret not on tmpfs) and runs
// systemd-creds elsewhere; host always writes in process; tpm2 runs
// systemd-creds --with-key=host+tpm2; systemd-creds always lets systemd
// choose; --creds-user always runs systemd-creds --user. Where systemd
// chooses, Varlink asks its credential service
// (io.systemd.Credentials.Encrypt, systemd 256+) on one connection, and a
// spawned systemd-creds takes over where that service does not answer.
//
// After changes it try-restarts, once per debounce window and only when
// no write is pending, the units named on the secrets and (unless
// disabled) the loaded units systemd reports as loading the credential.
// Every write, removal or failure yields a receipt, published through the
// Publisher the node provides. Failures are logged once per cause, audited,
// retried with backoff, and the state is visible (Status).
//
// credwriter imports record, store, identity, actor and its own hostkey;
// systemd-creds and systemctl are run only from here.
package credwriter
