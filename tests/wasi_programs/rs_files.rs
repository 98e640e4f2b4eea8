// rs_files: std::fs in the preopened directory /sandbox.
use std::fs::{self, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};

fn main() -> std::io::Result<()> {
    let root = std::path::Path::new("/sandbox");
    fs::create_dir_all(root.join("a/b/c"))?;
    fs::write(root.join("a/b/c/data.txt"), b"hello from rust\n")?;
    let mut f = OpenOptions::new().append(true).open(root.join("a/b/c/data.txt"))?;
    writeln!(f, "appended line")?;
    drop(f);
    let text = fs::read_to_string(root.join("a/b/c/data.txt"))?;
    print!("{}", text);

    let mut f = OpenOptions::new().read(true).write(true).create(true).open(root.join("numbers.bin"))?;
    for i in 0u32..1000 {
        f.write_all(&i.to_le_bytes())?;
    }
    f.seek(SeekFrom::Start(400))?;
    let mut word = [0u8; 4];
    f.read_exact(&mut word)?;
    println!("word at 400 = {}", u32::from_le_bytes(word));
    let pos = f.seek(SeekFrom::Current(0))?;
    let end = f.seek(SeekFrom::End(-4))?;
    println!("pos {} end-4 {}", pos, end);
    f.set_len(100)?;
    println!("len {}", f.metadata()?.len());
    drop(f);

    fs::rename(root.join("numbers.bin"), root.join("a/numbers.bin"))?;
    fs::copy(root.join("a/numbers.bin"), root.join("a/b/copy.bin"))?;
    fs::remove_file(root.join("a/numbers.bin"))?;
    fs::create_dir(root.join("gone"))?;
    fs::remove_dir(root.join("gone"))?;

    let mut names: Vec<String> = fs::read_dir(root)?
        .map(|e| {
            let e = e.unwrap();
            let kind = if e.file_type().unwrap().is_dir() { "dir" } else { "file" };
            format!("{} {}", kind, e.file_name().to_string_lossy())
        })
        .collect();
    names.sort();
    println!("{:?}", names);
    let meta = fs::metadata(root.join("a/b/copy.bin"))?;
    println!("copy: {} bytes, file {}", meta.len(), meta.is_file());
    match fs::read(root.join("does/not/exist")) {
        Ok(_) => println!("unexpected"),
        Err(e) => println!("missing: {:?}", e.kind()),
    }
    match fs::read_to_string("/etc/passwd") {
        Ok(_) => println!("read /etc/passwd!"),
        Err(e) => println!("/etc/passwd: {:?}", e.kind()),
    }
    fs::remove_dir_all(root.join("a/b/c"))?;
    Ok(())
}
