//! Unit tests of `src/device.rs`.

// From `src/device.rs` (unit tests live here so that `cargo test` does not compile the library twice).
mod device_units {
    use tabs_experiments::device::*;

    #[test]
    fn devices_parse() {
        assert_eq!("1".parse::<Devices>(), Ok(Devices::One));
        assert_eq!("3".parse::<Devices>(), Ok(Devices::Count(3)));
        assert_eq!("all".parse::<Devices>(), Ok(Devices::All));
        assert_eq!("2,0".parse::<Devices>(), Ok(Devices::List(vec![2, 0], None)));
        assert_eq!(
            "cuda:0, cuda:1".parse::<Devices>(),
            Ok(Devices::List(vec![0, 1], Some("cuda".into())))
        );
        for bad in ["0", "", "x", "cuda:0,wgpu:1", "0,0", "cuda:", "-1"] {
            assert!(bad.parse::<Devices>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn backend_and_indices() {
        let args = |device: Option<&str>, devices: &str| DeviceArgs {
            device: device.map(str::to_string),
            devices: devices.parse().unwrap(),
        };
        assert_eq!(args(None, "1").backend().unwrap(), "cpu");
        assert_eq!(args(None, "cuda:0,cuda:1").backend().unwrap(), "cuda");
        assert_eq!(args(Some("cuda"), "0,1").backend().unwrap(), "cuda");
        assert!(args(Some("cpu"), "cuda:0,cuda:1").backend().is_err());
        let d = |s: &str| s.parse::<Devices>().unwrap();
        assert_eq!(d("1").indices("x", || 4, false).unwrap(), None);
        assert_eq!(d("all").indices("x", || 3, false).unwrap(), Some(vec![0, 1, 2]));
        assert_eq!(d("3,1").indices("x", || 4, false).unwrap(), Some(vec![3, 1]));
        let e = d("0,4").indices("cuda", || 4, false).unwrap_err().to_string();
        assert!(e.contains("device 4") && e.contains("has 4"), "{e}");
        assert!(d("all").indices("x", || 0, false).is_err());
        assert_eq!(d("3").indices("cpu", || 1, true).unwrap(), Some(vec![0, 1, 2]));
    }
}
