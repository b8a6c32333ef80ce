package ossimg

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want *Spec
	}{
		{"image/resize,w_300", &Spec{Kind: Image, Ops: []Op{{Name: "resize", Pos: 6, Args: []Arg{{Key: "w", Value: "300", Pos: 13, ValuePos: 15}}}}}},
		{"image/resize,m_fill,w_150,h_80/format,webp", &Spec{Kind: Image, Ops: []Op{
			{Name: "resize", Pos: 6, Args: []Arg{{"m", "fill", 13, 15}, {"w", "150", 20, 22}, {"h", "80", 26, 28}}},
			{Name: "format", Pos: 31, Args: []Arg{{"", "webp", 38, 38}}},
		}}},
		{"image/rotate,-90", &Spec{Kind: Image, Ops: []Op{{Name: "rotate", Pos: 6, Args: []Arg{{"", "-90", 13, 13}}}}}},
		{"image/info", &Spec{Kind: Image, Ops: []Op{{Name: "info", Pos: 6}}}},
		{"image/average-hue/", &Spec{Kind: Image, Ops: []Op{{Name: "average-hue", Pos: 6}}}},
		// base64url values keep their '_' and '-' after the first '_'.
		{"image/watermark,text_SGVsbG8g5Zu-54mH_A", &Spec{Kind: Image, Ops: []Op{{Name: "watermark", Pos: 6, Args: []Arg{{"text", "SGVsbG8g5Zu-54mH_A", 16, 21}}}}}},
		{"image/quality,Q_90,q_80", &Spec{Kind: Image, Ops: []Op{{Name: "quality", Pos: 6, Args: []Arg{{"Q", "90", 14, 16}, {"q", "80", 19, 21}}}}}},
		{"style/thumb-1.x_y", &Spec{Kind: Style, Style: "thumb-1.x_y", StylePos: 6}},
		{"video/snapshot,t_7000,f_jpg", &Spec{Kind: Video, Ops: []Op{{Name: "snapshot", Pos: 6, Args: []Arg{{"t", "7000", 15, 17}, {"f", "jpg", 22, 24}}}}}},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			got, err := Parse(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
			if back := got.String(); back != strings.TrimSuffix(tc.spec, "/") {
				t.Errorf("String() = %q", back)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		spec, op, param string
		offset          int
		msg             string
	}{
		{"", "", "", 0, "empty spec"},
		{"resize,w_100", "", "", 0, "no category"},
		{"img/resize", "", "", 0, `unknown category "img"`},
		{"image/", "", "", 6, "no operation after image/"},
		{"image//resize", "", "", 6, "empty operation"},
		{"image/resize,w_1//format,png", "", "", 17, "empty operation"},
		{"image/Resize,w_1", "", "", 6, "operation name"},
		{"image/resize,,w_1", "resize", "", 13, "empty parameter"},
		{"image/resize,w_1,", "resize", "", 17, "empty parameter"},
		{"image/resize,w_", "resize", "w", 15, "missing value"},
		{"image/resize,_1", "resize", "", 13, "no name"},
		{"image/resize,w-x_1", "resize", "", 14, "parameter name"},
		{"image/resize,w_1,w_2", "resize", "w", 17, "given twice"},
		{"image/resize,w 1", "", "", 14, "unexpected character"},
		{"image/watermark,text_你好", "", "", 21, "unexpected character"},
		{"style/", "", "", 6, "empty style name"},
		{"style/a!b", "", "", 7, "not allowed"},
		{"style/" + strings.Repeat("a", 64), "", "", 69, "over the limit of 63"},
		{"video/snapshot,t_1/resize,w_1", "resize", "", 19, "one operation"},
		{"image/" + strings.Repeat("a/", MaxOps) + "b", "", "", 6 + 2*MaxOps, "more than 32 operations"},
		{"image/a" + strings.Repeat(",x", MaxArgs+1), "a", "", 8 + 2*MaxArgs, "more than 24 parameters"},
		{strings.Repeat("x", MaxLen+1), "", "", MaxLen, "over the limit"},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			_, err := Parse(tc.spec)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if e.Offset != tc.offset || e.Op != tc.op || e.Param != tc.param || !strings.Contains(e.Msg, tc.msg) {
				t.Fatalf("got %+v, want offset %d op %q param %q msg ~%q", e, tc.offset, tc.op, tc.param, tc.msg)
			}
		})
	}
}

func seeds() []string {
	return []string{
		"image/resize,w_300/format,webp",
		"image/resize,m_pad,w_150,h_80,color_FF0000,limit_0/quality,q_80/interlace,1",
		"image/crop,x_10,y_10,w_100,h_100,g_se/circle,r_50/rounded-corners,r_10",
		"image/watermark,text_SGVsbG8g5Zu-54mH5pyN5YqhIQ,type_d3F5LXplbmhlaQ,color_FFFFFF,size_30,shadow_50,t_90,g_se,x_10,y_10",
		"image/watermark,image_cGFuZGEucG5nP3gtb3NzLXByb2Nlc3M9aW1hZ2UvcmVzaXplLFBfMjA,g_nw,fill_1,padx_5,pady_5",
		"image/auto-orient,0/rotate,90/blur,r_3,s_2/bright,-50/contrast,50/sharpen,100/indexcrop,x_100,i_0",
		"image/info", "image/average-hue", "style/thumb", "video/snapshot,t_7000,f_jpg,w_800,h_600,m_fast,ar_auto",
		"image/", "image//", "style/", "video/a/b", "image/a,b_,c", "image/resize,w_1/",
	}
}

// FuzzParse checks, for any input: no panic; an error is an *Error with an
// offset inside the input (or at its end); a success writes back to the
// same text (less one trailing '/') and every position points at what it
// names.
func FuzzParse(f *testing.F) {
	for _, s := range seeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		spec, err := Parse(in)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("%q: error %T %v", in, err, err)
			}
			if e.Offset < 0 || e.Offset > len(in) {
				t.Fatalf("%q: offset %d outside the input", in, e.Offset)
			}
			return
		}
		if len(in) > MaxLen {
			t.Fatalf("%q: accepted %d bytes", in, len(in))
		}
		if got, want := spec.String(), strings.TrimSuffix(in, "/"); got != want {
			t.Fatalf("%q: String() = %q", in, got)
		}
		if spec.Kind == Style && in[spec.StylePos:] != spec.Style {
			t.Fatalf("%q: style at %d", in, spec.StylePos)
		}
		if len(spec.Ops) > MaxOps {
			t.Fatalf("%q: %d ops", in, len(spec.Ops))
		}
		for _, op := range spec.Ops {
			if !strings.HasPrefix(in[op.Pos:], op.Name) || len(op.Args) > MaxArgs {
				t.Fatalf("%q: op %q at %d", in, op.Name, op.Pos)
			}
			for _, a := range op.Args {
				if !strings.HasPrefix(in[a.ValuePos:], a.Value) || (a.Key != "" && !strings.HasPrefix(in[a.Pos:], a.Key+"_")) {
					t.Fatalf("%q: arg %+v", in, a)
				}
			}
		}
	})
}
