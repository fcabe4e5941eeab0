package record

import (
	"testing"
	"time"
)

// FuzzOpen: any bytes either fail to open or open to an envelope whose raw
// bytes are exactly the input and whose body decodes or fails cleanly.
func FuzzOpen(f *testing.F) {
	k := newKey(f, 1)
	f.Add(mustSeal(f, k, KindNode, 1, t0, sampleNode().Encode()).Raw())
	f.Add(mustSeal(f, k, KindHeartbeat, 1, t0, Heartbeat{1, time.Second}.Encode()).Raw())
	f.Add([]byte{1, 1})
	f.Fuzz(func(t *testing.T, raw []byte) {
		e, err := Open(raw)
		if err != nil {
			return
		}
		if string(e.Raw()) != string(raw) {
			t.Fatal("Raw differs from the input")
		}
		_, _ = DecodeBody(e)
	})
}

// FuzzBodies feeds every body decoder; a decoded body must re-encode to
// the same bytes (the encodings are canonical).
func FuzzBodies(f *testing.F) {
	f.Add(uint8(KindNode), sampleNode().Encode())
	f.Add(uint8(KindSysinfo), sampleSysinfo().Encode())
	f.Add(uint8(KindAdmit), Admit{Subject: make([]byte, 32), Source: AdmitTicket, Addrs: []string{"/x"}, Legacy: true}.Encode())
	f.Add(uint8(KindAdmit), Admit{Subject: make([]byte, 32), Source: AdmitRole, Role: RoleNode, Pin: []ID{{1}, {2}}}.Encode())
	f.Add(uint8(KindRevoke), Revoke{Subject: make([]byte, 32), Reason: "r", Legacy: true}.Encode())
	f.Add(uint8(KindRevoke), Revoke{Subject: make([]byte, 32), Reason: "r", Pin: []ID{{1}}}.Encode())
	f.Add(uint8(KindHeartbeat), Heartbeat{5, time.Second}.Encode())
	f.Add(uint8(KindSyncReq), SyncRequest{Target: make([]byte, 32)}.Encode())
	f.Add(uint8(KindSecret), sampleSecret(f).Encode())
	f.Add(uint8(KindReceipt), Receipt{Name: "db", Version: 2, State: ReceiptFailed, Error: "boom", At: t0}.Encode())
	f.Fuzz(func(t *testing.T, kind uint8, body []byte) {
		var again []byte
		switch Kind(kind) {
		case KindNode:
			v, err := DecodeNode(body)
			if err != nil {
				return
			}
			again = v.Encode()
		case KindSysinfo:
			v, err := DecodeSysinfo(body)
			if err != nil {
				return
			}
			again = v.Encode()
		case KindAdmit:
			v, err := DecodeAdmit(body)
			if err != nil {
				return
			}
			again = v.Encode()
		case KindRevoke:
			v, err := DecodeRevoke(body)
			if err != nil {
				return
			}
			again = v.Encode()
		case KindHeartbeat:
			v, err := DecodeHeartbeat(body)
			if err != nil {
				return
			}
			if v.Interval >= MaxHeartbeat {
				return // clamped on decode
			}
			again = v.Encode()
		case KindSyncReq:
			v, err := DecodeSyncRequest(body)
			if err != nil {
				return
			}
			again = v.Encode()
		case KindSecret:
			v, err := DecodeSecret(body)
			if err != nil {
				return
			}
			again = v.Encode()
		case KindReceipt:
			v, err := DecodeReceipt(body)
			if err != nil {
				return
			}
			again = v.Encode()
		default:
			return
		}
		if string(again) != string(body) {
			t.Fatalf("kind %d: decode+encode changed %x into %x", kind, body, again)
		}
	})
}
