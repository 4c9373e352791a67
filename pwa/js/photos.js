// Photos are shrunk on the phone to a long edge of 1600 px before they are stored or sent:
// a 4 MB camera JPEG becomes about 300 KB, which a weak signal can carry. The camera's EXIF
// block (capture time, GPS, model) is carried over, its orientation set to "upright" because the
// pixels already are; the server keeps those facts as data and strips them from what it serves.
export const EDGE = 1600;

export async function shrink(file) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch {
    throw new Error("this file could not be read as a photo; take it again or choose a JPEG");
  }
  const scale = Math.min(1, EDGE / Math.max(bitmap.width, bitmap.height));
  const width = Math.round(bitmap.width * scale), height = Math.round(bitmap.height * scale);
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext("2d");
  context.imageSmoothingQuality = "high";
  context.drawImage(bitmap, 0, 0, width, height);
  bitmap.close();
  let blob = await canvas.convertToBlob({ type: "image/jpeg", quality: 0.85 });
  const exif = await uprightExif(file);
  if (exif) blob = new Blob([blob.slice(0, 2), exif, blob.slice(2)], { type: "image/jpeg" });  // APP1 right after SOI
  return { blob, width, height };
}

/** The JPEG's EXIF segment (APP1) with orientation set to 1, or null. */
async function uprightExif(file) {
  const bytes = new Uint8Array(await file.slice(0, 131072).arrayBuffer());
  const view = new DataView(bytes.buffer);
  if (view.byteLength < 4 || view.getUint16(0) !== 0xffd8) return null;
  for (let at = 2; at + 4 <= view.byteLength;) {
    const marker = view.getUint16(at), length = view.getUint16(at + 2);
    if ((marker & 0xff00) !== 0xff00 || marker === 0xffda) return null;  // not a marker, or the image data starts
    if (marker === 0xffe1 && at + 4 + length <= view.byteLength && view.getUint32(at + 4) === 0x45786966) {  // "Exif"
      const segment = bytes.slice(at, at + 2 + length);
      setOrientation(new DataView(segment.buffer), 10);
      return segment;
    }
    at += 2 + length;
  }
  return null;
}

function setOrientation(view, tiff) {
  const little = view.getUint16(tiff) === 0x4949;  // "II"
  const ifd = tiff + view.getUint32(tiff + 4, little);
  if (ifd + 2 > view.byteLength) return;
  const count = view.getUint16(ifd, little);
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > view.byteLength) return;
    if (view.getUint16(entry, little) === 0x0112) view.setUint16(entry + 8, 1, little);
  }
}
