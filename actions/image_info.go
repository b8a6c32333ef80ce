package actions

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"

	"github.com/opaprules/opaprules/internal/imageio"
)

func init() {
	Register(Definition{
		Name:    "image_info",
		Summary: "Answer with JSON describing the image (size in bytes, format, frames, width, height, EXIF) instead of the image.",
		Doc: "The answer is OSS IMG's info document: every field is `\"Name\": {\"value\": \"...\"}` " +
			"with `FileSize`, `Format` (jpg, png, gif, webp, bmp, tiff, avif), `FrameCount`, " +
			"`ImageHeight` and `ImageWidth` (as stored, before any EXIF orientation) always present, " +
			"and the common EXIF tags (Make, Model, Orientation, DateTimeOriginal, ExposureTime, ...) " +
			"when the image carries them; GPS tags only with `gps: true`, as a picture's location is " +
			"personal data. It reads the header and metadata only, never the pixels, unless an " +
			"earlier action changed them: then it describes the result as encoded at that point. " +
			"`Content-Type` becomes application/json; it should be the plan's last image action.",
		Class: Transform,
		New:   func() Action { return &ImageInfo{} },
	})
}

// ImageInfo replaces the body with a JSON description of the image.
type ImageInfo struct {
	GPS bool `yaml:"gps" doc:"include the GPS tags of the EXIF data (default false)"`
}

type infoValue struct {
	Value string `json:"value"`
}

// Apply reads the body's header and metadata and answers with JSON.
func (i *ImageInfo) Apply(ctx context.Context, obj *Object) error {
	data, err := obj.ReadAll(ctx, int64(obj.Limits.MaxSourceBytes), CodeImageTooLarge)
	if err != nil {
		return err
	}
	cfg, err := imageio.DecodeConfig(data)
	if err != nil {
		return decodeError(err)
	}
	doc := map[string]infoValue{}
	for _, f := range imageio.EXIFFields(imageio.ReadMetadata(cfg.Format, data).EXIF, i.GPS) {
		doc[f.Name] = infoValue{f.Value}
	}
	// The image's own facts win over what EXIF claims.
	doc["FileSize"] = infoValue{strconv.Itoa(len(data))}
	doc["Format"] = infoValue{ossFormatName(cfg.Format)}
	doc["FrameCount"] = infoValue{strconv.Itoa(max(cfg.Frames, 1))}
	doc["ImageHeight"] = infoValue{strconv.Itoa(cfg.Height)}
	doc["ImageWidth"] = infoValue{strconv.Itoa(cfg.Width)}
	body, err := json.Marshal(doc) // keys sorted, as OSS lists them
	if err != nil {
		return err
	}
	obj.SetBody(bytes.NewReader(body), int64(len(body)))
	obj.Header.Set("Content-Type", "application/json")
	return nil
}

// Predict sets the Content-Type.
func (i *ImageInfo) Predict(obj *Object) { obj.Header.Set("Content-Type", "application/json") }

// ossFormatName is the format as OSS IMG names it (jpg, not jpeg).
func ossFormatName(format string) string {
	if format == imageio.JPEG {
		return "jpg"
	}
	return format
}

// Interface guards.
var (
	_ Action    = (*ImageInfo)(nil)
	_ Predictor = (*ImageInfo)(nil)
)
