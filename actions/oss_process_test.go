package actions

import (
	"bytes"
	"image"
	"reflect"
	"testing"
)

// A spec compiles into the same action structs a rules file would list,
// with OSS's defaults made explicit.
func TestOSSCompileMapsOntoActions(t *testing.T) {
	resize := func(f func(r *Resize)) Action {
		r := newAction("resize").(*Resize)
		r.KeepSmall = true
		f(r)
		return r
	}
	convert := func(f func(c *Convert)) Action {
		c := newAction("convert").(*Convert)
		c.Format = "keep"
		f(c)
		return c
	}
	adjust := func(f func(a *Adjust)) Action {
		a := newAction("adjust").(*Adjust)
		f(a)
		return a
	}
	for _, tc := range []struct {
		spec string
		want []Action
	}{
		{"image/resize,w_300/format,webp", []Action{
			resize(func(r *Resize) { r.Width = 300 }),
			convert(func(c *Convert) { c.Format = "webp" }),
		}},
		{"image/format,webp/resize,w_300", []Action{ // output settings go last
			resize(func(r *Resize) { r.Width = 300 }),
			convert(func(c *Convert) { c.Format = "webp" }),
		}},
		{"image/resize,m_pad,w_100,color_FF0000,limit_0", []Action{resize(func(r *Resize) {
			r.Mode, r.Width, r.Height, r.Upscale, r.KeepSmall = "pad", 100, 100, true, false
			r.Background = Color{NRGBA: red, Set: true}
		})}},
		{"image/resize,m_mfit,l_200", []Action{resize(func(r *Resize) { r.Mode, r.Long = "cover", 200 })}},
		{"image/resize,p_30", []Action{resize(func(r *Resize) { r.Percent = 30 })}},
		{"image/crop,x_10,y_20,w_30,h_40,g_se", []Action{&Crop{X: 10, Y: 20, Width: 30, Height: 40, Gravity: "south_east"}}},
		{"image/crop,x_10,y_20", []Action{&Crop{X: 10, Y: 20}}},
		{"image/indexcrop,y_50,i_3", []Action{&Slice{Height: 50, Index: 3}}},
		{"image/circle,r_10/rounded-corners,r_5", []Action{&Circle{Radius: 10}, &RoundedCorners{Radius: 5}}},
		{"image/bright,30/contrast,-20/sharpen,150/blur,r_4,s_3", []Action{
			adjust(func(a *Adjust) { a.Brightness = 30 }),
			adjust(func(a *Adjust) { a.Contrast = -20 }),
			adjust(func(a *Adjust) { a.Sharpen = 1.5 }),
			adjust(func(a *Adjust) { a.Blur, a.BlurRadius = 3, 4 }),
		}},
		{"image/quality,q_80/interlace,1", []Action{convert(func(c *Convert) { c.RelativeQuality, c.Progressive = 80, true })}},
		{"image/quality,Q_70/format,jpg", []Action{convert(func(c *Convert) { c.Quality, c.NotAboveSource, c.Format = 70, true, "jpeg" })}},
		{"image/format,webp/quality,Q_lossless", []Action{convert(func(c *Convert) { c.Format, c.NotAboveSource, c.Lossless = "webp", true, true })}},
		{"image/bright,0", nil}, // changes nothing
	} {
		t.Run(tc.spec, func(t *testing.T) {
			plan, err := (&OSSProcess{}).compile(tc.spec, false)
			if err != nil {
				t.Fatal(err)
			}
			var got []Action
			for _, st := range plan.steps {
				got = append(got, st.action)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %#v\nwant %#v", got, tc.want)
			}
		})
	}
}

// Through oss_process, a resize that comes first still decodes a JPEG
// small (shrink-on-load): the answer is byte for byte the one of the same
// plan written as actions, and its decode's memory reservation as small.
func TestOSSProcessSamePlanAsActions(t *testing.T) {
	src := encode(t, "jpeg", photo(800, 600))
	ossOut, _ := run(t, object(src, ""), &OSSProcess{Spec: "image/resize,w_100/format,webp"})
	r := newResize(100, 0, "")
	actOut, _ := run(t, object(src, ""), r, newConvert("webp"))
	if !bytes.Equal(ossOut, actOut) {
		t.Fatalf("oss_process %d bytes, actions %d", len(ossOut), len(actOut))
	}
	plan, err := (&OSSProcess{}).compile("image/resize,w_100/format,webp", false)
	if err != nil {
		t.Fatal(err)
	}
	got, full, _, shrunk := shrunkBy(t, src, plan.steps[0].action.(*Resize))
	if !shrunk || full != image.Pt(800, 600) || got != image.Pt(200, 150) {
		t.Fatalf("decoded %v of %v (shrunk %v): want 1/4", got, full, shrunk)
	}
}
