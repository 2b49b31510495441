package infra_test

import (
	"archive/zip"
	"debug/elf"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestMakePackage runs `make package` and the SAM build target for one
// function and checks what each platform expects: AWS a zip holding an
// executable linux/arm64 `bootstrap` at its root, Tencent a zip holding an
// executable linux/amd64 binary named after the handler.
func TestMakePackage(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles a function")
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	dist, sam := t.TempDir(), t.TempDir()
	for _, args := range [][]string{
		{"package", "DIST=" + dist, "FUNCTIONS=notesync"},
		{"build-NotesyncFunction", "ARTIFACTS_DIR=" + sam},
	} {
		cmd := exec.Command("make", append([]string{"--no-print-directory"}, args...)...)
		cmd.Dir = repoRoot
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("make %v: %v\n%s", args, err, out)
		}
		t.Logf("make %v:\n%s", args, out)
	}
	checkZip(t, filepath.Join(dist, "aws/notesync.zip"), "bootstrap", elf.EM_AARCH64)
	checkZip(t, filepath.Join(dist, "tencent.zip"), "notesync", elf.EM_X86_64)
	checkELF(t, filepath.Join(sam, "bootstrap"), elf.EM_AARCH64)
}

func checkZip(t *testing.T, path, name string, arch elf.Machine) {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) != 1 || zr.File[0].Name != name {
		var names []string
		for _, f := range zr.File {
			names = append(names, f.Name)
		}
		t.Fatalf("%s holds %v, want exactly [%s] at the root", path, names, name)
	}
	f := zr.File[0]
	if f.Mode()&0o111 == 0 {
		t.Errorf("%s: %s is not executable (mode %v)", path, name, f.Mode())
	}
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tmp := filepath.Join(t.TempDir(), name)
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tmp, b, 0o755); err != nil {
		t.Fatal(err)
	}
	checkELF(t, tmp, arch)
}

func checkELF(t *testing.T, path string, arch elf.Machine) {
	t.Helper()
	e, err := elf.Open(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer e.Close()
	if e.Machine != arch || e.OSABI != elf.ELFOSABI_NONE && e.OSABI != elf.ELFOSABI_LINUX {
		t.Errorf("%s: machine %v, want %v (linux)", path, e.Machine, arch)
	}
	if e.Section(".symtab") != nil {
		t.Errorf("%s: not stripped (has .symtab)", path)
	}
}
