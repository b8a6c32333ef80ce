package imageio

import (
	"debug/elf"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// The first AVIF use in a process compiles libavif's WebAssembly; WarmAVIF
// moves that to the FC initializer. Measure both the cold and warm cost.
func TestWarmAVIF(t *testing.T) {
	heavy(t)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	took, err := WarmAVIF()
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("AVIF codec compiled in %v (Go heap grew %d MiB)", took, (int64(after.HeapAlloc)-int64(before.HeapAlloc))>>20)
	start := time.Now()
	data := mustEncode(t, still(testPicture(64, 48, 255), AVIF), EncodeOptions{Format: AVIF, Speed: -1})
	t.Logf("first 64×48 AVIF encode after warming: %v", time.Since(start))
	if again, err := WarmAVIF(); err != nil || again != 0 {
		t.Fatalf("second warm took %v (%v), want no work", again, err)
	}
	cfg, err := DecodeConfig(data)
	if err != nil {
		t.Fatal(err)
	}
	img, err := Decode(data, cfg, DecodeOptions{AutoOrient: true})
	if err != nil || img.Bounds().Size() != image.Pt(64, 48) {
		t.Fatalf("AVIF round trip: %v", err)
	}
	alpha := mustEncode(t, still(testPicture(32, 32, 100), AVIF), EncodeOptions{Format: AVIF, Speed: -1})
	if img, err := Decode(alpha, Config{Format: AVIF}, DecodeOptions{}); err != nil || !img.HasAlpha() {
		t.Fatalf("AVIF lost its alpha: %v", err)
	}
}

// The deployment binary must be static (FC's go1 runtime; no libavif on
// the host): CGO_ENABLED=0 with -tags nodynamic, which keeps the gen2brain
// codecs from linking the dynamic loader. This builds this package's test
// binary (it links every codec) both ways and reads the ELF headers.
func TestStaticBuild(t *testing.T) {
	heavy(t)
	if runtime.GOOS != "linux" {
		t.Skip("ELF check")
	}
	dir := t.TempDir()
	build := func(name string, tags ...string) string {
		out := filepath.Join(dir, name)
		args := append([]string{"test", "-c", "-o", out}, tags...)
		cmd := exec.Command("go", append(args, ".")...)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %v: %v\n%s", args, err, msg)
		}
		return out
	}
	static := build("static", "-tags", "nodynamic")
	if interp, needed := dynamicParts(t, static); interp || len(needed) > 0 {
		t.Fatalf("CGO_ENABLED=0 -tags nodynamic binary is dynamic: interpreter %v, needs %v", interp, needed)
	}
	// Without the tag the build still works (it is the developer default);
	// it links the loader so the codecs can use a system libavif.
	plain := build("plain")
	interp, needed := dynamicParts(t, plain)
	t.Logf("default build: interpreter %v, needs %v", interp, needed)
}

func dynamicParts(t *testing.T, path string) (interp bool, needed []string) {
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			interp = true
		}
	}
	needed, _ = f.ImportedLibraries()
	return interp, needed
}
