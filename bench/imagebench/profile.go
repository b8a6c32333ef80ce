package main

import (
	"os"
	"runtime"
	"runtime/pprof"
)

// profiler writes the profiles IMAGEBENCH_CPUPROFILE and
// IMAGEBENCH_MEMPROFILE name, over the iterations between start and stop
// (the first, with its one-off costs, left out).
type profiler struct {
	cpu, mem string
	cpuFile  *os.File
}

func profile() (*profiler, error) {
	return &profiler{cpu: os.Getenv("IMAGEBENCH_CPUPROFILE"), mem: os.Getenv("IMAGEBENCH_MEMPROFILE")}, nil
}

func (p *profiler) start() {
	if p.mem != "" {
		// Every allocation, so that alloc_space is the bytes themselves.
		runtime.MemProfileRate = 1
	}
	if p.cpu != "" {
		f, err := os.Create(p.cpu)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			p.cpuFile = f
		}
	}
}

func (p *profiler) stop() error {
	if p.cpuFile != nil {
		pprof.StopCPUProfile()
		if err := p.cpuFile.Close(); err != nil {
			return err
		}
	}
	if p.mem == "" {
		return nil
	}
	f, err := os.Create(p.mem)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
