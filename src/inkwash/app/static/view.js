// Zoom and pan, shared by the drawing and the result panels: one view of the image in both.
// The image is placed by a CSS transform (translate + scale from its top-left corner); strokes are drawn in image
// coordinates, so what the page paints does not depend on the zoom. Zoomed in, pixels show as squares.

export const MIN_ZOOM = 1 / 64;
export const MAX_ZOOM = 64;
const PIXELATED_FROM = 2; // zoom at and above which pixels are drawn as squares rather than smoothed

/** A client point in px from the viewport's padding box (where the image is placed), inside its border. */
function inside(viewport, clientX, clientY) {
  const r = viewport.getBoundingClientRect();
  return [clientX - r.left - viewport.clientLeft, clientY - r.top - viewport.clientTop];
}

export class View {
  /** panes: [{viewport, target}], the first one measured for fitting (the panels have one size). */
  constructor(panes, onChange = () => {}) {
    this.panes = panes;
    this.onChange = onChange;
    this.width = 0;
    this.height = 0;
    this.zoom = 1;
    this.x = 0; // where the image's top-left corner lies, in px from the viewport's top-left corner
    this.y = 0;
  }

  get viewport() { return this.panes[0].viewport; }

  setImage(w, h) {
    this.width = w;
    this.height = h;
    for (const { target } of this.panes) {
      target.style.width = `${w}px`;
      target.style.height = `${h}px`;
    }
    this.fit();
  }

  /** The whole image in the panel, centred. */
  fit() {
    if (!this.width) return;
    const vw = this.viewport.clientWidth, vh = this.viewport.clientHeight;
    const z = Math.min((vw - 16) / this.width, (vh - 16) / this.height);
    this.set(Math.max(MIN_ZOOM, Math.min(MAX_ZOOM, z)), 0, 0);
    this.centre();
  }

  /** One image pixel per screen pixel (device-independent), keeping the panel's centre where it is. */
  actual() {
    this.zoomAtScreen(this.viewport.clientWidth / 2, this.viewport.clientHeight / 2, 1 / this.zoom);
  }

  centre() {
    const vw = this.viewport.clientWidth, vh = this.viewport.clientHeight;
    this.set(this.zoom, (vw - this.width * this.zoom) / 2, (vh - this.height * this.zoom) / 2);
  }

  /** Multiply the zoom by `factor` keeping the image point under (sx, sy) (viewport px) in place. */
  zoomAtScreen(sx, sy, factor) {
    const z = Math.max(MIN_ZOOM, Math.min(MAX_ZOOM, this.zoom * factor));
    const ix = (sx - this.x) / this.zoom, iy = (sy - this.y) / this.zoom;
    this.set(z, sx - ix * z, sy - iy * z);
  }

  /** As zoomAtScreen, around a point given in client coordinates over any pane's viewport. */
  zoomAt(clientX, clientY, factor, viewport = this.viewport) {
    const [sx, sy] = inside(viewport, clientX, clientY);
    this.zoomAtScreen(sx, sy, factor);
  }

  zoomBy(factor) {
    this.zoomAtScreen(this.viewport.clientWidth / 2, this.viewport.clientHeight / 2, factor);
  }

  panBy(dx, dy) {
    this.set(this.zoom, this.x + dx, this.y + dy);
  }

  /** Image coordinates (px, fractional) of a client point over a pane's viewport. */
  toImage(clientX, clientY, viewport = this.viewport) {
    const [sx, sy] = inside(viewport, clientX, clientY);
    return [(sx - this.x) / this.zoom, (sy - this.y) / this.zoom];
  }

  set(zoom, x, y) {
    this.zoom = zoom;
    this.x = Math.round(x * 100) / 100;
    this.y = Math.round(y * 100) / 100;
    const transform = `translate(${this.x}px, ${this.y}px) scale(${this.zoom})`;
    for (const { viewport, target } of this.panes) {
      target.style.transform = transform;
      viewport.classList.toggle("pixelated", zoom >= PIXELATED_FROM);
    }
    this.onChange(this);
  }

  state() {
    return { zoom: this.zoom, x: this.x, y: this.y };
  }
}

/** Wheel, pinch, space-drag and middle-drag on a pane's viewport. `isPanKey()` says whether space is held. */
export function attachGestures(view, viewport, { isPanKey, onPinchStart }) {
  viewport.addEventListener("wheel", (e) => {
    if (!view.width) return;
    e.preventDefault();
    // a mouse wheel step is ~100 px (or 3 lines); a trackpad pinch comes as ctrl+wheel with small deltas
    const unit = e.deltaMode === 1 ? 33 : e.deltaMode === 2 ? 400 : 1;
    const dy = e.deltaY * unit, dx = e.deltaX * unit;
    if (e.shiftKey && !e.ctrlKey) {
      view.panBy(-(dx || dy), 0);
      return;
    }
    if (Math.abs(dx) > Math.abs(dy) && !e.ctrlKey) {
      view.panBy(-dx, 0);
      return;
    }
    view.zoomAt(e.clientX, e.clientY, Math.exp(-dy * (e.ctrlKey ? 0.01 : 0.0015)), viewport);
  }, { passive: false });

  const touches = new Map();
  let pan = null, pinch = null;

  const pinchState = () => {
    const [a, b] = Array.from(touches.values());
    return { cx: (a.x + b.x) / 2, cy: (a.y + b.y) / 2, d: Math.hypot(a.x - b.x, a.y - b.y) || 1 };
  };

  viewport.addEventListener("pointerdown", (e) => {
    if (!view.width) return;
    if (e.pointerType === "touch") {
      touches.set(e.pointerId, { x: e.clientX, y: e.clientY });
      if (touches.size === 2) {
        onPinchStart();
        pinch = pinchState();
        e.stopImmediatePropagation();
        return;
      }
    }
    if (e.button === 1 || (e.button === 0 && isPanKey())) {
      pan = { x: e.clientX, y: e.clientY, id: e.pointerId };
      try {
        viewport.setPointerCapture(e.pointerId);
      } catch {
        // the pointer is gone already; panning ends with its next event
      }
      viewport.classList.add("panning");
      e.preventDefault();
      e.stopImmediatePropagation(); // not a stroke
    }
  }, { capture: true });

  viewport.addEventListener("pointermove", (e) => {
    if (touches.has(e.pointerId)) touches.set(e.pointerId, { x: e.clientX, y: e.clientY });
    if (pinch && touches.size === 2) {
      const now = pinchState();
      view.panBy(now.cx - pinch.cx, now.cy - pinch.cy);
      view.zoomAt(now.cx, now.cy, now.d / pinch.d, viewport);
      pinch = now;
      e.stopImmediatePropagation();
    } else if (pan && e.pointerId === pan.id) {
      view.panBy(e.clientX - pan.x, e.clientY - pan.y);
      pan.x = e.clientX;
      pan.y = e.clientY;
      e.stopImmediatePropagation();
    }
  }, { capture: true });

  const end = (e) => {
    touches.delete(e.pointerId);
    if (touches.size < 2) pinch = null;
    if (pan && e.pointerId === pan.id) {
      pan = null;
      viewport.classList.remove("panning");
      e.stopImmediatePropagation();
    }
  };
  viewport.addEventListener("pointerup", end, { capture: true });
  viewport.addEventListener("pointercancel", end, { capture: true });
}
