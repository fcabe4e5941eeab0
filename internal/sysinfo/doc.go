// Package sysinfo is the sysinfo actor: it collects this machine's disks,
// network interfaces and their addresses, load, memory and uptime with
// gopsutil, every minute and at once when interfaces or mounts change, and
// hands the snapshot to a Publisher (the node wires it to gossip) when it
// changed enough to matter.
//
// sysinfo imports record and actor, and owns gopsutil.
package sysinfo
