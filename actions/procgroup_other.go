//go:build !unix

package actions

import "os/exec"

// inProcessGroup: without process groups, the context's end kills ffmpeg
// itself (exec's default).
func inProcessGroup(*exec.Cmd) {}

func killProcessGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	return cmd.Process.Kill()
}
