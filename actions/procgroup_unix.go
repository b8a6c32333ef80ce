//go:build unix

package actions

import (
	"os/exec"
	"syscall"
)

// inProcessGroup makes cmd the leader of a new process group, and its
// context's end kill the whole group: whatever ffmpeg starts dies with it.
func inProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return killProcessGroup(cmd) }
}

func killProcessGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
