// Generation jobs: a progress bar per job, with the generator's live preview when it sends one.

function previewType(base64) {
  if (base64.startsWith("/9j/")) return "jpeg";
  if (base64.startsWith("UklG")) return "webp";
  return "png";
}

export class Jobs {
  constructor(section) {
    this.section = section;
    this.rows = new Map();
  }

  progress({ job_id, deliverable, fraction, preview }) {
    let row = this.rows.get(job_id);
    if (!row) {
      row = document.createElement("div");
      row.className = "job";
      row.dataset.job = job_id;
      row.dataset.deliverable = deliverable;
      row.innerHTML = `<img class="preview" alt="" hidden><div class="job-body">
        <span class="job-name"></span><progress max="100" value="0"></progress>
        <span class="pct">0%</span></div>`;
      row.querySelector(".job-name").textContent = deliverable;
      row.querySelector("progress").setAttribute("aria-label", `${deliverable} progress`);
      this.section.append(row);
      this.rows.set(job_id, row);
    }
    this.section.hidden = false;
    const pct = Math.round((fraction || 0) * 100);
    row.querySelector("progress").value = pct;
    row.querySelector(".pct").textContent = `${pct}%`;
    if (preview) {
      const img = row.querySelector("img");
      img.src = `data:image/${previewType(preview)};base64,${preview}`;
      img.alt = `${deliverable} preview`;
      img.hidden = false;
    }
  }

  /** The deliverable's image is stored: its bar has done its job. */
  done({ deliverable }) {
    for (const [id, row] of this.rows) {
      if (row.dataset.deliverable === deliverable) {
        row.remove();
        this.rows.delete(id);
      }
    }
    this.section.hidden = this.rows.size === 0;
  }

  /** The run ended (or was cut): no job of it is still running. */
  clear() {
    this.section.replaceChildren();
    this.section.hidden = true;
    this.rows.clear();
  }
}
