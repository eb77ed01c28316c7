import { style } from "./output.js";
import { stderr, type TextOut } from "./stdio.js";

/** A one-line spinner for slow steps; on a TTY only (elsewhere every call is a no-op). */
export interface Progress {
  step(text: string): void;
  done(): void;
}

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

export function progress(stream: TextOut = stderr): Progress {
  if (!stream.isTTY) return { step() {}, done() {} };
  let text = "";
  let frame = 0;
  let finished = false;
  const render = () => stream.write(`\r\u001b[2K${style("cyan", FRAMES[frame++ % FRAMES.length]!, stream)} ${text}`);
  const timer = setInterval(render, 80);
  timer.unref();
  return {
    step(t) {
      text = t;
      render();
    },
    done() {
      if (finished) return;
      finished = true;
      clearInterval(timer);
      stream.write("\r\u001b[2K");
    },
  };
}
