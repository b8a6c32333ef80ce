package actions

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"net/http"
)

// Image is a decoded body: one frame for still images, several for
// animations.
type Image struct {
	Frames []Frame
	// Format is the format the source was decoded from ("jpeg", "png", ...).
	Format string
	// LoopCount is the animation's loop count (GIF semantics).
	LoopCount int
}

// Frame is one picture of an Image.
type Frame struct {
	image.Image
	// Delay is how long the frame shows, in hundredths of a second.
	Delay int
}

// Output says how the image is encoded at the end of the plan; convert
// sets it, and an unset Format keeps the source's.
type Output struct {
	Format  string
	Quality int
}

type imageState struct {
	img *Image
	out Output
}

// Image decodes the body on first use, refusing sources over the byte and
// pixel limits before any pixel buffer is allocated.
func (o *Object) Image(ctx context.Context) (*Image, error) {
	if o.img != nil {
		return o.img.img, nil
	}
	data, err := o.ReadAll(ctx, int64(o.Limits.MaxSourceBytes), CodeImageTooLarge)
	if err != nil {
		return nil, err
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, &Error{Status: http.StatusBadRequest, Code: CodeInvalidImage, Message: "the object is not a decodable image", Cause: err}
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > int64(o.Limits.MaxSourcePixels) {
		return nil, Errorf(http.StatusBadRequest, CodeImageTooLarge, "image is %d×%d, over the limit of %d pixels", cfg.Width, cfg.Height, o.Limits.MaxSourcePixels)
	}
	m, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, &Error{Status: http.StatusBadRequest, Code: CodeInvalidImage, Message: "the object is not a decodable image", Cause: err}
	}
	o.img = &imageState{img: &Image{Frames: []Frame{{Image: m}}, Format: format}}
	return o.img.img, nil
}

// SetImage replaces the decoded image.
func (o *Object) SetImage(img *Image) {
	if o.img == nil {
		o.img = &imageState{}
	}
	o.img.img = img
}

// Output returns the encoding settings the plan ends with, for convert to set.
func (o *Object) Output() *Output {
	if o.img == nil {
		o.img = &imageState{}
	}
	return &o.img.out
}

func (o *Object) encodeImage(ctx context.Context) error {
	st := o.img
	o.img = nil
	if st.img == nil {
		return nil
	}
	format := st.out.Format
	if format == "" {
		format = st.img.Format
	}
	var buf bytes.Buffer
	var err error
	m := st.img.Frames[0].Image
	switch format {
	case "jpeg":
		q := st.out.Quality
		if q == 0 {
			q = 82
		}
		err = jpeg.Encode(&buf, m, &jpeg.Options{Quality: q})
	case "png":
		err = png.Encode(&buf, m)
	case "gif":
		err = gif.Encode(&buf, m, nil)
	default:
		return fmt.Errorf("no encoder for %q", format)
	}
	if err != nil {
		return err
	}
	o.Header.Set("Content-Type", "image/"+format)
	o.body, o.size = bytes.NewReader(buf.Bytes()), int64(buf.Len())
	return nil
}
