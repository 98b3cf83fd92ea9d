#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The termios speed for a `Baud=` value, shared by serial terminals and scanners (the config admits only the
/// standard rates; anything else falls back to 9600).
func termiosSpeed(_ baud: Int) -> speed_t {
    switch baud {
    case 1200: speed_t(B1200)
    case 2400: speed_t(B2400)
    case 4800: speed_t(B4800)
    case 19200: speed_t(B19200)
    case 38400: speed_t(B38400)
    case 57600: speed_t(B57600)
    case 115_200: speed_t(B115200)
    case 230_400: speed_t(B230400)
    case 460_800: speed_t(B460800)
    case 921_600: speed_t(B921600)
    default: speed_t(B9600)
    }
}
