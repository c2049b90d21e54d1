//! Files: an upload with progress (`XMLHttpRequest`: `fetch` reports no upload progress), a
//! download into a `blob:` URL with headers (so a token never goes in a URL), the files of a
//! picker, a drop or a paste, and a size as people read it.

use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{Blob, DataTransfer, File, FileList, ProgressEvent, XmlHttpRequest};

/// POSTs `body` to `url` with `headers`. `on_progress` gets the fraction sent as it goes;
/// `on_done` gets the status (0: the request failed) and the answer's text, once.
pub fn upload(
    url: &str,
    headers: &[(&str, &str)],
    body: &Blob,
    on_progress: impl Fn(f64) + 'static,
    on_done: impl FnOnce(u16, String) + 'static,
) {
    let Ok(xhr) = XmlHttpRequest::new() else {
        return on_done(0, String::new());
    };
    if xhr.open("POST", url).is_err() {
        return on_done(0, String::new());
    }
    for (name, value) in headers {
        let _ = xhr.set_request_header(name, value);
    }
    let progress = Closure::<dyn Fn(ProgressEvent)>::new(move |e: ProgressEvent| {
        if e.length_computable() && e.total() > 0.0 {
            on_progress(e.loaded() / e.total());
        }
    });
    if let Ok(target) = xhr.upload() {
        target.set_onprogress(Some(progress.as_ref().unchecked_ref()));
    }
    let done_xhr = xhr.clone();
    // `loadend` fires once, after success, failure or abort; it frees the progress callback.
    let done = Closure::once_into_js(move || {
        drop(progress);
        let text = done_xhr.response_text().ok().flatten().unwrap_or_default();
        on_done(done_xhr.status().unwrap_or(0), text);
    });
    xhr.set_onloadend(Some(done.unchecked_ref()));
    if xhr.send_with_opt_blob(Some(body)).is_err() {
        xhr.set_onloadend(None);
    }
}

/// GETs `url` with `headers` and hands over a `blob:` URL of the answer (`None` on failure).
/// The caller revokes it (`revoke`) when it stops showing it.
pub fn fetch_object_url(
    url: &str,
    headers: &[(&str, &str)],
    on_done: impl FnOnce(Option<String>) + 'static,
) {
    let Ok(xhr) = XmlHttpRequest::new() else {
        return on_done(None);
    };
    if xhr.open("GET", url).is_err() {
        return on_done(None);
    }
    // Set as a string: the enum's binding costs the widget's wasm more.
    let _ = js_sys::Reflect::set(xhr.as_ref(), &"responseType".into(), &"blob".into());
    for (name, value) in headers {
        let _ = xhr.set_request_header(name, value);
    }
    let done_xhr = xhr.clone();
    let done = Closure::once_into_js(move || {
        let url = (done_xhr.status().unwrap_or(0) == 200)
            .then(|| done_xhr.response().ok())
            .flatten()
            .and_then(|r| r.dyn_into::<Blob>().ok())
            .and_then(|blob| web_sys::Url::create_object_url_with_blob(&blob).ok());
        on_done(url);
    });
    xhr.set_onloadend(Some(done.unchecked_ref()));
    if xhr.send().is_err() {
        xhr.set_onloadend(None);
    }
}

/// Frees a `blob:` URL made by `fetch_object_url`.
pub fn revoke(url: &str) {
    let _ = web_sys::Url::revoke_object_url(url);
}

/// The files of a list (a picker's, a drop's or a paste's).
pub fn list(files: Option<FileList>) -> Vec<File> {
    let Some(files) = files else {
        return Vec::new();
    };
    (0..files.length()).filter_map(|i| files.get(i)).collect()
}

/// The files a drop or a paste carries.
pub fn transferred(data: Option<DataTransfer>) -> Vec<File> {
    list(data.and_then(|d| d.files()))
}

/// The files a paste into a composer carries (a screenshot from the clipboard); when there are
/// any, the paste itself is cancelled. A text paste goes on as usual (no files).
pub fn pasted(e: &web_sys::Event) -> Vec<File> {
    let Some(e) = e.dyn_ref::<web_sys::ClipboardEvent>() else {
        return Vec::new();
    };
    let files = transferred(e.clipboard_data());
    if !files.is_empty() {
        e.prevent_default();
    }
    files
}

/// A size as people read it: `820 B`, `14 KB`, `1.2 MB`.
pub fn human_size(bytes: u64) -> String {
    const KB: u64 = 1024;
    const MB: u64 = 1024 * 1024;
    match bytes {
        b if b < KB => format!("{b} B"),
        b if b < MB => format!("{} KB", b.div_ceil(KB)),
        b => {
            let tenths = (b * 10).div_ceil(MB);
            format!("{}.{} MB", tenths / 10, tenths % 10)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_read_as_people_write_them() {
        use super::human_size;
        assert_eq!(human_size(820), "820 B");
        assert_eq!(human_size(1024), "1 KB");
        assert_eq!(human_size(14_000), "14 KB");
        assert_eq!(human_size(1_258_291), "1.2 MB");
        assert_eq!(human_size(10 * 1024 * 1024), "10.0 MB");
    }
}
