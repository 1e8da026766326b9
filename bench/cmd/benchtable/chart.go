package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Chart geometry, in pixels. Text is basicfont's 7x13 face drawn at
// chartScale, so that it reads at a normal size.
const (
	chartScale  = 2
	chartWidth  = 2000
	chartMargin = 24
	chartLabelW = 880 // the label column left of the bars
	chartBarH   = 26
	chartRowH   = 40
	chartHeadH  = 130
	chartFootH  = 70
	// The bar axis is log10(value/reference) from chartLogMin to
	// chartLogMax: a hundredth of the reference to ten times it.
	chartLogMin = -2.0
	chartLogMax = 1.0
)

var (
	colWhite = color.RGBA{255, 255, 255, 255}
	colText  = color.RGBA{30, 30, 30, 255}
	colGrid  = color.RGBA{215, 215, 215, 255}
	colRef   = color.RGBA{40, 40, 40, 255}
	colMet   = color.RGBA{46, 160, 67, 255}
	colNot   = color.RGBA{207, 34, 46, 255}
	colNone  = color.RGBA{140, 150, 160, 255}
)

// bar is one drawn check.
type bar struct {
	label string
	value float64 // value/reference
	text  string  // the value and the target, printed right of the bar
	col   color.Color
}

// bars returns one bar per check that can be drawn: a ratio (against its
// target, or against 1 when it has none) or a figure with a target.
// Figures with neither are left out, and so are missing values.
func bars(rs []Row) []bar {
	var out []bar
	for _, r := range rs {
		for _, c := range r.Checks {
			if c.Value == nil || (c.Target == nil && c.Unit != "") {
				continue
			}
			ref, col := 1.0, color.Color(colNone)
			text := "= " + num(c.Value) + "  (no target; 1 = parity)"
			if c.Target != nil && *c.Target != 0 {
				ref = *c.Target
				text = fmt.Sprintf("= %s  target %s", num(c.Value)+unitSuffix(c.Unit), c.asciiTarget())
				col = colNot
				if c.Met != nil && *c.Met {
					col = colMet
					text += "  met"
				} else {
					text += "  NOT MET"
				}
			}
			out = append(out, bar{label: r.Benchmark + ": " + c.Name, value: *c.Value / ref, text: text, col: col})
		}
	}
	return out
}

// asciiTarget is target with "<=" and ">=", which the bitmap font has.
func (c Check) asciiTarget() string {
	return strings.NewReplacer("≤", "<=", "≥", ">=").Replace(c.target())
}

func unitSuffix(u string) string {
	if u == "" {
		return ""
	}
	return " " + u
}

// drawChart writes the chart of rs as a PNG to w. title heads it.
func drawChart(w io.Writer, rs []Row, title string) error {
	bs := bars(rs)
	h := chartHeadH + len(bs)*chartRowH + chartFootH
	img := image.NewRGBA(image.Rect(0, 0, chartWidth, h))
	draw.Draw(img, img.Bounds(), image.NewUniform(colWhite), image.Point{}, draw.Src)

	x0, x1 := chartMargin+chartLabelW, chartWidth-chartMargin-580
	xOf := func(ratio float64) int {
		l := math.Log10(ratio)
		l = math.Max(chartLogMin, math.Min(chartLogMax, l))
		return x0 + int(float64(x1-x0)*(l-chartLogMin)/(chartLogMax-chartLogMin))
	}

	text(img, chartMargin, chartMargin, title, colText)
	text(img, chartMargin, chartMargin+34,
		"Each bar is a ratio or figure divided by its target (log scale). The black line is the target:", colText)
	text(img, chartMargin, chartMargin+60,
		"green met, red not met; grey = a ratio to a baseline with no target, line = parity.", colText)
	top := chartHeadH
	bottom := top + len(bs)*chartRowH

	// Grid at each power of ten, labelled as a multiple of the target.
	for e := chartLogMin; e <= chartLogMax; e++ {
		x := xOf(math.Pow(10, e))
		fill(img, image.Rect(x, top-8, x+1, bottom), colGrid)
		label := fmt.Sprintf("%gx", math.Pow(10, e))
		text(img, x-len(label)*7*chartScale/2, bottom+8, label, colText)
	}
	for i, b := range bs {
		y := top + i*chartRowH
		text(img, chartMargin, y+(chartRowH-13*chartScale)/2, clip(b.label, chartLabelW/(7*chartScale)), colText)
		xe := xOf(b.value)
		fill(img, image.Rect(x0, y+(chartRowH-chartBarH)/2, max(xe, x0+2), y+(chartRowH+chartBarH)/2), b.col)
		if b.value > math.Pow(10, chartLogMax) { // beyond the axis: an arrow head
			for k := range 10 {
				fill(img, image.Rect(xe+k, y+chartRowH/2-(10-k), xe+k+1, y+chartRowH/2+(10-k)), b.col)
			}
		}
		text(img, x1+16, y+(chartRowH-13*chartScale)/2, b.text, colText)
	}
	// The target (or parity) line.
	xr := xOf(1)
	fill(img, image.Rect(xr-1, top-8, xr+2, bottom), colRef)
	text(img, xr-3*7*chartScale, bottom+36, "target", colRef)
	if err := png.Encode(w, img); err != nil {
		return fmt.Errorf("encoding the chart: %w", err)
	}
	return nil
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "~"
}

func fill(img *image.RGBA, r image.Rectangle, c color.Color) {
	draw.Draw(img, r.Intersect(img.Bounds()), image.NewUniform(c), image.Point{}, draw.Src)
}

// text draws s with its top-left corner at (x, y), in basicfont's 7x13
// face magnified chartScale times (nearest neighbour).
func text(img *image.RGBA, x, y int, s string, c color.Color) {
	face := basicfont.Face7x13
	small := image.NewAlpha(image.Rect(0, 0, font.MeasureString(face, s).Ceil()+1, face.Height))
	d := font.Drawer{Dst: small, Src: image.Opaque, Face: face, Dot: fixed.P(0, face.Ascent)}
	d.DrawString(s)
	src := image.NewUniform(c)
	b := small.Bounds()
	for sy := b.Min.Y; sy < b.Max.Y; sy++ {
		for sx := b.Min.X; sx < b.Max.X; sx++ {
			if small.AlphaAt(sx, sy).A < 128 {
				continue
			}
			r := image.Rect(x+sx*chartScale, y+sy*chartScale, x+(sx+1)*chartScale, y+(sy+1)*chartScale)
			draw.Draw(img, r.Intersect(img.Bounds()), src, image.Point{}, draw.Src)
		}
	}
}
