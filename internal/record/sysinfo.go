package record

import (
	"fmt"
	"time"
)

// Limits of a sysinfo record.
const (
	MaxDisks       = 64
	MaxInterfaces  = 64
	maxIfaceAddrs  = 32
	maxMountpoint  = 256
	maxFSType      = 32
	maxIfaceName   = 64
	maxIfaceAddr   = 64
	maxHardwareMAC = 32
)

// Sysinfo is the body of a sysinfo record: a snapshot of the node's
// machine. Latest by sequence; only the node itself signs it.
type Sysinfo struct {
	CollectedAt time.Time
	Uptime      time.Duration // whole seconds
	// Load averages in thousandths (1.5 is 1500), so that the encoding is
	// exact and the record compares equal when nothing changed.
	Load1, Load5, Load15 uint64
	MemTotal, MemUsed    uint64 // bytes
	MemAvailable         uint64
	Disks                []Disk
	Interfaces           []Interface
}

// Disk is one mounted file system.
type Disk struct {
	Mountpoint string
	FSType     string
	Total      uint64 // bytes
	Used       uint64
	Free       uint64
}

// Interface is one network interface and its addresses (CIDR form).
type Interface struct {
	Name  string
	MAC   string
	Up    bool
	Addrs []string
}

// Encode returns the body bytes.
func (s Sysinfo) Encode() []byte {
	var w writer
	w.uvarint(uint64(max(s.CollectedAt.UnixMilli(), 0)))
	w.uvarint(uint64(max(s.Uptime/time.Second, 0)))
	w.uvarint(s.Load1)
	w.uvarint(s.Load5)
	w.uvarint(s.Load15)
	w.uvarint(s.MemTotal)
	w.uvarint(s.MemUsed)
	w.uvarint(s.MemAvailable)
	w.uvarint(uint64(len(s.Disks)))
	for _, d := range s.Disks {
		w.str(d.Mountpoint)
		w.str(d.FSType)
		w.uvarint(d.Total)
		w.uvarint(d.Used)
		w.uvarint(d.Free)
	}
	w.uvarint(uint64(len(s.Interfaces)))
	for _, i := range s.Interfaces {
		w.str(i.Name)
		w.str(i.MAC)
		w.boolean(i.Up)
		w.uvarint(uint64(len(i.Addrs)))
		for _, a := range i.Addrs {
			w.str(a)
		}
	}
	return w.b
}

// maxUptimeSeconds (about 136 years) keeps Uptime far from overflowing
// time.Duration, which tops out near 292 years.
const maxUptimeSeconds = 1 << 32

// DecodeSysinfo decodes and validates a sysinfo body.
func DecodeSysinfo(b []byte) (Sysinfo, error) {
	r := reader{b: b}
	var s Sysinfo
	s.CollectedAt = r.millis("collected")
	uptime := r.uvarint("uptime")
	if uptime > maxUptimeSeconds {
		r.fail(fmt.Errorf("uptime %d out of range", uptime))
		uptime = 0
	}
	s.Uptime = time.Duration(uptime) * time.Second
	s.Load1 = r.uvarint("load1")
	s.Load5 = r.uvarint("load5")
	s.Load15 = r.uvarint("load15")
	s.MemTotal = r.uvarint("mem total")
	s.MemUsed = r.uvarint("mem used")
	s.MemAvailable = r.uvarint("mem available")
	for range r.count("disks", MaxDisks) {
		var d Disk
		d.Mountpoint = r.str("mountpoint", maxMountpoint)
		d.FSType = r.str("fstype", maxFSType)
		d.Total = r.uvarint("disk total")
		d.Used = r.uvarint("disk used")
		d.Free = r.uvarint("disk free")
		s.Disks = append(s.Disks, d)
	}
	for range r.count("interfaces", MaxInterfaces) {
		var i Interface
		i.Name = r.str("interface", maxIfaceName)
		i.MAC = r.str("mac", maxHardwareMAC)
		i.Up = r.boolean("up")
		for range r.count("interface addrs", maxIfaceAddrs) {
			i.Addrs = append(i.Addrs, r.str("interface addr", maxIfaceAddr))
		}
		s.Interfaces = append(s.Interfaces, i)
	}
	if err := r.done(); err != nil {
		return Sysinfo{}, reject(ReasonMalformed, "sysinfo record: %v", err)
	}
	return s, nil
}
