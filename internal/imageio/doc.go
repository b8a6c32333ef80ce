// Package imageio is the codec plumbing behind the image actions: format
// sniffing, header-only inspection for limits, decoders and encoders per
// format, EXIF orientation and metadata (EXIF, ICC) carried from source to
// output.
//
// Every format is decoded by calling its package's own Decode. Several
// packages in the build register "webp" (or "jpeg") with image.RegisterFormat,
// and image.Decode would pick whichever registered first; picking the
// decoder from sniffed magic bytes keeps the choice ours.
//
// Nothing here knows about rules, limits or HTTP: callers check Config
// against their limits before calling Decode, which allocates pixels.
package imageio
