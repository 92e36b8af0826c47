//! Replacing a model directory in one step: the new model is written into a
//! fresh sibling directory, which then takes the old one's place.

use std::path::{Path, PathBuf};

use super::temporary_sibling;
use super::tfjs::is_shard_name;
use crate::error::{Error, ErrorKind, Result};

/// Replaces the model in `dir` with `files` (`(file name, bytes)`), so that a
/// reader sees the old model or the new one, never a mix of both:
///
/// 1. a fresh sibling directory is filled with `files`, and with everything `dir` holds
///    that is not a model file (hard links, or copies where linking fails);
/// 2. `dir` is renamed aside, the fresh directory is renamed to `dir`, and the
///    old directory is deleted.
///
/// Model files are `model.json`, `model.pb`, `model.tflite` and weight shards
/// (`group<g>-shard<i>of<n>.bin`): an earlier model's go, whatever else `dir`
/// held stays. `dir` and its parents are created when missing; a symlink to a
/// directory is followed and the directory it names is replaced. On any
/// failure `dir` is left exactly as it was and no temporary directory remains.
///
/// The process's current directory (or one that contains it) cannot be
/// replaced this way, because the process and the shell would be left in the
/// deleted old directory; that is an [`ErrorKind::InvalidArgument`].
pub fn write_model_dir<'a>(dir: &Path, files: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> Result<()> {
    let mut model = ModelDir::create(dir)?;
    for (name, bytes) in files {
        model.write(name, bytes)?;
    }
    model.commit().map(|_| ())
}

/// A model directory being written, for an emitter that writes its files as
/// it makes them rather than holding them all: they go into a fresh sibling
/// directory that [`ModelDir::commit`] swaps in as [`write_model_dir`] does.
/// Dropped without a commit, it removes the fresh directory and `dir` stays
/// as it was.
pub struct ModelDir {
    /// As the caller named it, for messages.
    dir: PathBuf,
    target: PathBuf,
    existing: bool,
    fresh: PathBuf,
    written: Vec<(String, u64)>,
    committed: bool,
}

impl ModelDir {
    /// Checks `dir` can take a model and makes the fresh directory beside it.
    pub fn create(dir: &Path) -> Result<ModelDir> {
        let (target, existing) = resolve_target(dir)?;
        if !existing {
            let parent = parent_of(&target);
            std::fs::create_dir_all(parent).map_err(|e| Error::io(e, parent))?;
        }
        let fresh = temporary_sibling(&target, "tmp");
        std::fs::create_dir(&fresh).map_err(|e| Error::io(e, dir))?;
        Ok(ModelDir { dir: dir.to_path_buf(), target, existing, fresh, written: Vec::new(), committed: false })
    }

    /// Writes one file of the model.
    pub fn write(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        check_file_name(name)?;
        // Written in place: nothing sees the fresh directory before the commit.
        // Errors name the file the caller asked for, not its temporary home.
        std::fs::write(self.fresh.join(name), bytes).map_err(|e| Error::io(e, self.target.join(name)))?;
        self.written.retain(|(n, _)| n != name);
        self.written.push((name.to_string(), bytes.len() as u64));
        Ok(())
    }

    /// Gives a written file its final name (a name that needs the whole model, such as a shard count).
    pub fn rename(&mut self, from: &str, to: &str) -> Result<()> {
        check_file_name(to)?;
        let Some(entry) = self.written.iter_mut().find(|(n, _)| n == from) else {
            return Err(Error::new(ErrorKind::Internal, format!("\"{from}\" was not written")));
        };
        std::fs::rename(self.fresh.join(from), self.fresh.join(to)).map_err(|e| Error::io(e, self.target.join(to)))?;
        entry.0 = to.to_string();
        Ok(())
    }

    /// The files written so far, with their sizes, in order.
    pub fn written(&self) -> &[(String, u64)] {
        &self.written
    }

    /// Puts the model in place of `dir`, carrying over what `dir` held that
    /// is not a model file; returns the files written.
    pub fn commit(mut self) -> Result<Vec<(String, u64)>> {
        let result = fill(&self.fresh, &self.target, self.existing, &self.written)
            .and_then(|()| swap(&self.fresh, &self.target, self.existing));
        if let Err(e) = result {
            return Err(e.or_file(&self.dir));
        }
        self.committed = true;
        Ok(std::mem::take(&mut self.written))
    }
}

impl Drop for ModelDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.fresh);
        }
    }
}

/// A model's own file names, which a new model replaces.
fn is_model_file(name: &str) -> bool {
    matches!(name, "model.json" | "model.pb") || name == super::tflite::TFLITE_FILE || is_shard_name(name)
}

fn check_file_name(name: &str) -> Result<()> {
    let plain = !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0']);
    if plain {
        Ok(())
    } else {
        Err(Error::new(ErrorKind::InvalidArgument, format!("\"{name}\" is not a plain file name")))
    }
}

/// The directory to replace and whether it exists.
fn resolve_target(dir: &Path) -> Result<(PathBuf, bool)> {
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if dir.file_name().is_none() {
                return Err(
                    Error::new(ErrorKind::InvalidArgument, "names no directory to write a model into").in_file(dir)
                );
            }
            Ok((dir.to_path_buf(), false))
        }
        Err(e) => Err(Error::io(e, dir)),
        Ok(_) => {
            // Follows a symlink and gives `.` and `..` a name to rename.
            let target = std::fs::canonicalize(dir).map_err(|e| Error::io(e, dir))?;
            if !target.is_dir() {
                return Err(Error::new(ErrorKind::Io, "exists and is not a directory").in_file(dir));
            }
            let cwd = std::env::current_dir().and_then(std::fs::canonicalize);
            if cwd.is_ok_and(|cwd| cwd.starts_with(&target)) {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    "is the current directory (or contains it), which a model cannot replace; name a subdirectory",
                )
                .in_file(dir));
            }
            Ok((target, true))
        }
    }
}

fn parent_of(path: &Path) -> &Path {
    path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// Carries over into `fresh` what `target` holds besides a model and the `written` files.
fn fill(fresh: &Path, target: &Path, existing: bool, written: &[(String, u64)]) -> Result<()> {
    if !existing {
        return Ok(());
    }
    let entries = std::fs::read_dir(target).map_err(|e| Error::io(e, target))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(e, target))?;
        let name = entry.file_name();
        let replaced = name.to_str().is_some_and(|n| is_model_file(n) || written.iter().any(|(f, _)| f == n));
        if !replaced {
            link_tree(&entry.path(), &fresh.join(&name)).map_err(|e| Error::io(e, entry.path()))?;
        }
    }
    let permissions = std::fs::metadata(target).map_err(|e| Error::io(e, target))?.permissions();
    std::fs::set_permissions(fresh, permissions).map_err(|e| Error::io(e, fresh))
}

/// Puts `fresh` in the place of `target`; on failure `target` is as it was.
fn swap(fresh: &Path, target: &Path, existing: bool) -> Result<()> {
    if !existing {
        return std::fs::rename(fresh, target).map_err(|e| Error::io(e, target));
    }
    let aside = temporary_sibling(target, "old");
    std::fs::rename(target, &aside).map_err(|e| Error::io(e, target))?;
    if let Err(e) = std::fs::rename(fresh, target) {
        return match std::fs::rename(&aside, target) {
            Ok(()) => Err(Error::io(e, target)),
            Err(_) => Err(Error::new(ErrorKind::Io, format!("{e}; the previous contents are in {}", aside.display()))
                .in_file(target)),
        };
    }
    // The new model is in place; an old directory that cannot be deleted only costs space.
    let _ = std::fs::remove_dir_all(&aside);
    Ok(())
}

/// Recreates `from` at `to`: directories entry by entry, symlinks as
/// symlinks, files as hard links (copies where links are impossible).
fn link_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    let metadata = std::fs::symlink_metadata(from)?;
    let kind = metadata.file_type();
    if kind.is_dir() {
        std::fs::create_dir(to)?;
        for entry in std::fs::read_dir(from)? {
            let entry = entry?;
            link_tree(&entry.path(), &to.join(entry.file_name()))?;
        }
        std::fs::set_permissions(to, metadata.permissions())
    } else if kind.is_symlink() {
        copy_symlink(from, to)
    } else if std::fs::hard_link(from, to).is_err() {
        std::fs::copy(from, to).map(|_| ())
    } else {
        Ok(())
    }
}

#[cfg(unix)]
fn copy_symlink(from: &Path, to: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(std::fs::read_link(from)?, to)
}

#[cfg(windows)]
fn copy_symlink(from: &Path, to: &Path) -> std::io::Result<()> {
    let target = std::fs::read_link(from)?;
    if std::fs::metadata(from).is_ok_and(|m| m.is_dir()) {
        std::os::windows::fs::symlink_dir(target, to)
    } else {
        std::os::windows::fs::symlink_file(target, to)
    }
}

#[cfg(not(any(unix, windows)))]
fn copy_symlink(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::copy(from, to).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_file_names_are_written() {
        for bad in ["", ".", "..", "a/b", "..\\x"] {
            assert_eq!(check_file_name(bad).unwrap_err().kind, ErrorKind::InvalidArgument, "{bad:?}");
        }
        assert!(check_file_name("group1-shard1of1.bin").is_ok());
    }

    #[test]
    fn model_files_are_the_json_the_pb_and_shards() {
        for name in ["model.json", "model.pb", "group1-shard3of12.bin"] {
            assert!(is_model_file(name), "{name}");
        }
        for name in ["notes.txt", "model.json.bak", "labels.json"] {
            assert!(!is_model_file(name), "{name}");
        }
    }
}
