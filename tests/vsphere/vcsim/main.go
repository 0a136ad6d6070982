// vcsim for the vSphere suite: the govmomi simulator (a fake vCenter, since
// no real one can run here) built from Debian's golang-github-vmware-govmomi-dev,
// which ships the simulator package but no command.
//
// Beyond the stock model it can serve a certificate of the caller's choosing
// (-cert/-key, so the client can verify TLS against a CA) and sets the idle
// session timeout (-idle).  Two additions to the simulator itself:
//   - RevertToSnapshot_Task restores the VM's CPUs and memory from the
//     snapshot, as vSphere does (govmomi 0.24's simulator only moves the
//     current-snapshot pointer);
//   - GET /vrt-stats prints how many SOAP calls of each method it served,
//     so the suite can count a client's round trips.
package main

import (
	"bytes"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/signal"
	"regexp"
	"sort"
	"sync"
	"syscall"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

var (
	methodRe = regexp.MustCompile(`Body>\s*<(?:[A-Za-z0-9_]+:)?([A-Za-z0-9_]+)`)
	revertRe = regexp.MustCompile(`<_this type="VirtualMachineSnapshot">([^<]+)</_this>`)
	statsMu  sync.Mutex
	stats    = map[string]int{}
)

// restoreHardware gives the VM of snapshot ref the CPUs and memory the
// snapshot recorded.
func restoreHardware(ref string) {
	obj := simulator.Map.Get(types.ManagedObjectReference{Type: "VirtualMachineSnapshot", Value: ref})
	snap, ok := obj.(*simulator.VirtualMachineSnapshot)
	if !ok || snap.Config.Hardware.NumCPU == 0 {
		return
	}
	vm, ok := simulator.Map.Get(snap.Vm).(*simulator.VirtualMachine)
	if !ok {
		return
	}
	hw := snap.Config.Hardware
	simulator.Map.WithLock(vm, func() {
		simulator.Map.Update(vm, []types.PropertyChange{
			{Name: "config.hardware.numCPU", Val: hw.NumCPU},
			{Name: "config.hardware.memoryMB", Val: hw.MemoryMB},
			{Name: "summary.config.numCpu", Val: hw.NumCPU},
			{Name: "summary.config.memorySizeMB", Val: hw.MemoryMB},
		})
	})
}

// wrap counts SOAP methods, serves /vrt-stats and completes reverts.
func wrap(inner http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/vrt-stats" {
			statsMu.Lock()
			names := make([]string, 0, len(stats))
			for k := range stats {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, k := range names {
				fmt.Fprintf(w, "%s %d\n", k, stats[k])
			}
			statsMu.Unlock()
			return
		}
		if r.Method != http.MethodPost {
			inner.ServeHTTP(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if m := methodRe.FindSubmatch(body); m != nil {
			statsMu.Lock()
			stats[string(m[1])]++
			statsMu.Unlock()
		}
		rev := revertRe.FindSubmatch(body)
		if rev == nil || !bytes.Contains(body, []byte("RevertToSnapshot_Task")) {
			inner.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		inner.ServeHTTP(rec, r)
		if rec.Code == http.StatusOK {
			restoreHardware(string(rev[1]))
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
}

func main() {
	model := simulator.VPX()
	flag.IntVar(&model.Datacenter, "dc", model.Datacenter, "datacenters")
	flag.IntVar(&model.Cluster, "cluster", model.Cluster, "clusters per datacenter")
	flag.IntVar(&model.ClusterHost, "host", model.ClusterHost, "hosts per cluster")
	flag.IntVar(&model.Host, "standalone-host", model.Host, "standalone hosts")
	flag.IntVar(&model.Datastore, "ds", model.Datastore, "datastores")
	flag.IntVar(&model.Machine, "vm", model.Machine, "VMs per resource pool")
	flag.IntVar(&model.Pool, "pool", model.Pool, "resource pools")
	listen := flag.String("l", "127.0.0.1:8989", "listen address")
	user := flag.String("username", "", "the only user name Login accepts (any if empty)")
	pass := flag.String("password", "", "its password")
	cert := flag.String("cert", "", "PEM server certificate (default: a built-in self-signed one)")
	key := flag.String("key", "", "PEM key of -cert")
	idle := flag.Duration("idle", 0, "idle time after which a session expires (0: never)")
	flag.Parse()

	simulator.SessionIdleTimeout = *idle
	if err := model.Create(); err != nil {
		log.Fatal(err)
	}
	u := &url.URL{Host: *listen}
	if *user != "" {
		u.User = url.UserPassword(*user, *pass)
	}
	model.Service.Listen = u
	model.Service.TLS = new(tls.Config)
	if *cert != "" {
		pair, err := tls.LoadX509KeyPair(*cert, *key)
		if err != nil {
			log.Fatal(err)
		}
		model.Service.TLS.Certificates = []tls.Certificate{pair}
	}
	s := model.Service.NewServer()
	// before anyone can know the port is ours: the caller waits for the
	// line printed below
	s.Server.Config.Handler = wrap(s.Server.Config.Handler)
	fmt.Printf("vcsim listening on https://%s/sdk pid %d\n", s.URL.Host, os.Getpid())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	s.Close()
	model.Remove()
}
