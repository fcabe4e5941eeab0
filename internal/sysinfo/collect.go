package sysinfo

import (
	"context"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/shirou/gopsutil/v4/disk"
	"github.com/shirou/gopsutil/v4/host"
	"github.com/shirou/gopsutil/v4/load"
	"github.com/shirou/gopsutil/v4/mem"
	gnet "github.com/shirou/gopsutil/v4/net"

	"github.com/credmesh/credmesh/internal/record"
)

// pseudoFS are file systems that are not storage worth reporting.
var pseudoFS = map[string]bool{
	"proc": true, "sysfs": true, "devtmpfs": true, "devpts": true, "cgroup": true, "cgroup2": true,
	"securityfs": true, "pstore": true, "bpf": true, "tracefs": true, "debugfs": true, "mqueue": true,
	"hugetlbfs": true, "configfs": true, "fusectl": true, "autofs": true, "squashfs": true, "nsfs": true,
	"binfmt_misc": true, "rpc_pipefs": true, "efivarfs": true, "overlay": true,
}

// Collect takes a snapshot of this machine. Parts that cannot be read are
// left out rather than failing the whole snapshot.
func Collect(ctx context.Context, now time.Time) record.Sysinfo {
	s := record.Sysinfo{CollectedAt: now}
	if up, err := host.UptimeWithContext(ctx); err == nil {
		s.Uptime = time.Duration(up) * time.Second
	}
	if l, err := load.AvgWithContext(ctx); err == nil {
		s.Load1, s.Load5, s.Load15 = milli(l.Load1), milli(l.Load5), milli(l.Load15)
	}
	if m, err := mem.VirtualMemoryWithContext(ctx); err == nil {
		s.MemTotal, s.MemUsed, s.MemAvailable = m.Total, m.Used, m.Available
	}
	s.Disks = disks(ctx)
	s.Interfaces = interfaces(ctx)
	return s
}

func milli(f float64) uint64 {
	if f < 0 || math.IsNaN(f) {
		return 0
	}
	return uint64(math.Round(f * 1000))
}

func disks(ctx context.Context) []record.Disk {
	parts, err := disk.PartitionsWithContext(ctx, false)
	if err != nil {
		return nil
	}
	var out []record.Disk
	seen := map[string]bool{}
	for _, p := range parts {
		if pseudoFS[p.Fstype] || seen[p.Mountpoint] || len(out) == record.MaxDisks {
			continue
		}
		u, err := disk.UsageWithContext(ctx, p.Mountpoint)
		if err != nil || u.Total == 0 {
			continue
		}
		seen[p.Mountpoint] = true
		out = append(out, record.Disk{Mountpoint: clip(p.Mountpoint, 256), FSType: clip(p.Fstype, 32),
			Total: u.Total, Used: u.Used, Free: u.Free})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Mountpoint < out[j].Mountpoint })
	return out
}

func interfaces(ctx context.Context) []record.Interface {
	ifs, err := gnet.InterfacesWithContext(ctx)
	if err != nil {
		return nil
	}
	var out []record.Interface
	for _, i := range ifs {
		if len(out) == record.MaxInterfaces {
			break
		}
		ri := record.Interface{Name: clip(i.Name, 64), MAC: clip(i.HardwareAddr, 32)}
		for _, f := range i.Flags {
			if f == "up" {
				ri.Up = true
			}
		}
		for _, a := range i.Addrs {
			if len(ri.Addrs) < 32 {
				ri.Addrs = append(ri.Addrs, clip(a.Addr, 64))
			}
		}
		out = append(out, ri)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// clip keeps s within the record's limits, on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// differs reports whether now is worth republishing after last (the last
// snapshot published): a change of interfaces, addresses or mounts, a
// disk's usage moved by 2% of the disk or more, memory by 10% of the
// total, or the one-minute load by a whole unit and by half. Each is
// measured against what was published, not against fixed buckets, so a
// value hovering at a bucket's edge does not publish on every collection
// (it did: a load wavering around 1.0 republished every minute).
// Everything is refreshed anyway every refreshEvery; this keeps the
// fleet's sysinfo traffic to real changes.
func differs(last, now record.Sysinfo) bool {
	if material(last) != material(now) {
		return true
	}
	for i, d := range now.Disks {
		if moved(last.Disks[i].Used, d.Used, last.Disks[i].Total, 2) {
			return true
		}
	}
	if moved(last.MemUsed, now.MemUsed, now.MemTotal, 10) {
		return true
	}
	lo, hi := min(last.Load1, now.Load1), max(last.Load1, now.Load1)
	return hi-lo >= 1000 && hi-lo >= hi/2
}

// moved reports whether a and b differ by pct% of total or more.
func moved(a, b, total uint64, pct uint64) bool {
	if total == 0 {
		return a != b
	}
	d := max(a, b) - min(a, b)
	return d*100 >= pct*total
}

// material is what must match exactly: interfaces with their addresses,
// MACs and state, and the mounts with their types and sizes.
func material(s record.Sysinfo) string {
	var b strings.Builder
	for _, i := range s.Interfaces {
		b.WriteString(i.Name + "|" + i.MAC + "|" + strings.Join(i.Addrs, ",") + "|")
		if i.Up {
			b.WriteString("up")
		}
		b.WriteString(";")
	}
	for _, d := range s.Disks {
		b.WriteString(d.Mountpoint + "|" + d.FSType + "|" + itoa(d.Total) + ";")
	}
	b.WriteString(itoa(s.MemTotal))
	return b.String()
}

// shape is the part of a snapshot that a quick check can watch for: the
// interface names and addresses and the mounts.
func shape(s record.Sysinfo) string {
	var b strings.Builder
	for _, i := range s.Interfaces {
		b.WriteString(i.Name + "=" + strings.Join(i.Addrs, ",") + ";")
	}
	for _, d := range s.Disks {
		b.WriteString(d.Mountpoint + ";")
	}
	return b.String()
}

func itoa(v uint64) string {
	if v == 0 {
		return "0"
	}
	var buf [20]byte
	i := len(buf)
	for v > 0 {
		i--
		buf[i] = byte('0' + v%10)
		v /= 10
	}
	return string(buf[i:])
}
