// Node has no XMLHttpRequest; the client sends bytes with it. This stand-in
// does what the client uses of it over fetch (no upload progress events).
export class FetchXhr {
  status = 0;
  responseText = "";
  upload = { onprogress: null };
  onload = null;
  onerror = null;
  onabort = null;
  #headers = {};
  #answer = new Headers();
  #controller = new AbortController();

  open(method, url) {
    this.method = method;
    this.url = url;
  }
  setRequestHeader(name, value) {
    this.#headers[name] = value;
  }
  getResponseHeader(name) {
    return this.#answer.get(name);
  }
  abort() {
    this.#controller.abort();
  }
  send(body) {
    fetch(this.url, { method: this.method, headers: this.#headers, body, signal: this.#controller.signal }).then(
      async (response) => {
        this.status = response.status;
        this.#answer = response.headers;
        this.responseText = await response.text();
        this.onload?.();
      },
      () => (this.#controller.signal.aborted ? this.onabort?.() : this.onerror?.()),
    );
  }
}
