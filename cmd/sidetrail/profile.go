package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
)

// startProfiles starts a CPU profile and an execution trace and arranges a
// heap profile, for `make bench`; the returned function writes and closes
// them.
func startProfiles(cpu, mem, tr string) (func(), error) {
	var traceFile *os.File
	if tr != "" {
		f, err := os.Create(tr)
		if err != nil {
			return nil, fmt.Errorf("trace: %w", err)
		}
		if err := trace.Start(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("trace: %w", err)
		}
		traceFile = f
	}
	var cpuFile *os.File
	if cpu != "" {
		f, err := os.Create(cpu)
		if err != nil {
			stopTrace(traceFile)
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			stopTrace(traceFile)
			f.Close()
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
		cpuFile = f
	}
	return func() {
		stopTrace(traceFile)
		if cpuFile != nil {
			pprof.StopCPUProfile()
			cpuFile.Close()
		}
		if mem != "" {
			if f, err := os.Create(mem); err == nil {
				runtime.GC()
				_ = pprof.WriteHeapProfile(f)
				f.Close()
			}
		}
	}, nil
}

func stopTrace(f *os.File) {
	if f != nil {
		trace.Stop()
		f.Close()
	}
}
